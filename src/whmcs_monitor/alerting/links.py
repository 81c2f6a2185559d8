"""Links carried by notifications: the alert in the monitor, a signed acknowledge link, WHMCS admin pages."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from whmcs_monitor.config import Settings

# WHMCS admin page for each subject type the catalog extracts, most specific first: an event
# about a client's invoice, service, domain, ticket or order links there, not to the client.
ADMIN_PAGES = {
    "invoice": "invoices.php?action=edit&id={id}",
    "service": "clientsservices.php?id={id}",
    "domain": "clientsdomains.php?id={id}",
    "ticket": "supporttickets.php?action=view&id={id}",
    "order": "orders.php?action=view&id={id}",
    "client": "clientssummary.php?userid={id}",
}


def public_url(settings: Settings) -> str:
    base = settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"
    return base.rstrip("/")


def _link_key(settings: Settings) -> bytes | None:
    secret = settings.alerting.link_secret
    if secret is not None:
        return secret.get_secret_value().encode()
    if settings.sites:  # stable across instances that share the config
        material = "".join(s.secret_bytes().decode() for s in settings.sites)
        return hashlib.sha256(b"ack-link:" + material.encode()).digest()
    return None


def ack_token(settings: Settings, alert_id: int) -> str | None:
    key = _link_key(settings)
    if key is None:
        return None
    return hmac.new(key, f"ack:{alert_id}".encode(), hashlib.sha256).hexdigest()[:32]


def verify_ack_token(settings: Settings, alert_id: int, token: str) -> bool:
    expected = ack_token(settings, alert_id)
    return expected is not None and hmac.compare_digest(expected.encode(), token.encode())


def alert_links(
    settings: Settings, alert_id: int, site: str, subjects: Mapping[str, int]
) -> dict[str, str]:
    base = public_url(settings)
    links = {"alert": f"{base}/alerts/{alert_id}"}
    token = ack_token(settings, alert_id)
    if token is not None:
        # Under /links/: the dashboard owns /alerts/..., where a login and CSRF token decide.
        links["ack"] = f"{base}/links/alerts/{alert_id}/ack?token={token}"
    site_config = settings.site(site)
    if site_config is not None and site_config.whmcs_url:
        admin = f"{site_config.whmcs_url.rstrip('/')}/{settings.web.whmcs_admin_dir}/"
        for subject, template in ADMIN_PAGES.items():
            if subject in subjects:
                links["whmcs"] = admin + template.format(id=int(subjects[subject]))
                break
    return links
