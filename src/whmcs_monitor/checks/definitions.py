"""Where checks come from: the config's ``checks.probes``, presets derived from ``sites[]``, and
checks added through the API (stored in ``check_definitions``)."""

from __future__ import annotations

import logging
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from whmcs_monitor.checks.base import CheckBase
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.checks.tables import check_definitions, check_state
from whmcs_monitor.checks.tls import TlsCheck
from whmcs_monitor.checks.whmcs import WhmcsCheck
from whmcs_monitor.config import Settings, format_error
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import utcnow

log = logging.getLogger(__name__)
Origin = Literal["config", "preset", "api"]


def _site_presets(settings: Settings) -> list[CheckBase]:
    """A WHMCS page check and, for https, a certificate check for each site with a whmcs_url."""
    presets: list[CheckBase] = []
    for site in settings.sites:
        if not site.whmcs_url:
            continue
        try:
            whmcs = WhmcsCheck(name=f"{site.id}.whmcs", site=site.id, url=site.whmcs_url)
        except ValidationError:
            log.warning("sites[%s].whmcs_url is not an http(s) URL; no preset checks", site.id)
            continue
        presets.append(whmcs)
        url = httpx.URL(whmcs.url)
        if url.scheme == "https" and url.host:
            tls = TlsCheck(name=f"{site.id}.tls", site=site.id, host=url.host, port=url.port or 443)
            presets.append(tls)
    return presets


def with_site_api(check: CheckBase, settings: Settings) -> CheckBase:
    """A configured WHMCS check without API credentials borrows its site's."""
    site = settings.site(check.site)
    if not isinstance(check, WhmcsCheck) or check.api_url or site is None or site.api is None:
        return check
    return check.model_copy(
        update={
            "api_url": site.api.url,
            "api_identifier": site.api.identifier,
            "api_secret": site.api.secret,
        }
    )


def api_checks(conn: Connection, settings: Settings) -> list[CheckBase]:
    """Checks added through the API, with ``checks.defaults`` under what they set themselves
    (applied when read, so a changed default reaches them as it does configured probes); a row
    that no longer validates is skipped, not fatal."""
    found = []
    for row in conn.execute(sa.select(check_definitions.c.name, check_definitions.c.spec)):
        try:
            found.append(parse_check(settings.checks.defaults.apply(row.spec)))
        except ValidationError as exc:  # stored by an older version with other rules
            log.warning("API check %s no longer validates, skipped: %s", row.name, exc.errors()[0])
    return found


def all_checks(settings: Settings, conn: Connection) -> dict[str, tuple[CheckBase, Origin]]:
    """Every enabled check by name. Config wins over a preset or API check of the same name."""
    out: dict[str, tuple[CheckBase, Origin]] = {}
    if settings.checks.site_presets:
        out.update({c.name: (c, "preset") for c in _site_presets(settings)})
    out.update({c.name: (c, "api") for c in api_checks(conn, settings)})
    out.update({c.name: (c, "config") for c in settings.checks.probes})
    return {
        name: (with_site_api(check, settings), origin)
        for name, (check, origin) in out.items()
        if check.enabled
    }


def _file_check_names(settings: Settings) -> dict[str, str]:
    """Names the config file takes, each with where it comes from."""
    presets = _site_presets(settings) if settings.checks.site_presets else []
    names = {c.name: "a site preset (sites[].whmcs_url)" for c in presets}
    names.update({c.name: "checks.probes" for c in settings.checks.probes})
    return names


def add_check(
    conn: Connection, settings: Settings, spec: dict[str, Any], *, actor: str
) -> CheckBase:
    """Validate and store a check from the API; the same rules as the config apply.

    A name the config file already uses is refused: the API check would hide a preset, or be
    hidden by a configured probe, with the two sharing one state row.
    """
    try:
        check = parse_check(settings.checks.defaults.apply(spec))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(format_error(first), field=".".join(map(str, first["loc"]))) from exc
    source = _file_check_names(settings).get(check.name)
    if source is not None:
        raise InputError(
            f"a check named {check.name!r} already comes from {source} in the config file; "
            "choose another name",
            status=409,
            field="name",
        )
    taken = conn.execute(
        sa.select(check_definitions.c.name).where(check_definitions.c.name == check.name)
    ).first()
    if taken is not None:
        raise InputError(f"a check named {check.name!r} already exists", status=409, field="name")
    conn.execute(
        check_definitions.insert().values(
            name=check.name,
            type=check.type_name,
            spec=spec,  # as given: a model dump would mask the secrets the probe needs
            created_at=utcnow(),
            created_by=actor,
        )
    )
    return check


def remove_check(conn: Connection, name: str) -> None:
    deleted = conn.execute(check_definitions.delete().where(check_definitions.c.name == name))
    if deleted.rowcount == 0:
        raise InputError(f"no check named {name!r} was added through the API", status=404)
    # Only the API check's own state: a configured or preset check of that name keeps its own.
    conn.execute(
        check_state.delete().where(check_state.c.name == name, check_state.c.origin == "api")
    )
