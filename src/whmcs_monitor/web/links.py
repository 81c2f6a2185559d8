"""Deep links from an event's subjects into the WHMCS admin area."""

from __future__ import annotations

from urllib.parse import urlencode

# subject -> (admin page, query parameters, what the link opens); {id} is the subject's id.
_PAGES: dict[str, tuple[str, dict[str, str], str]] = {
    "client": ("clientssummary.php", {"userid": "{id}"}, "Client profile"),
    "invoice": ("invoices.php", {"action": "edit", "id": "{id}"}, "Invoice"),
    "order": ("orders.php", {"action": "view", "id": "{id}"}, "Order"),
    "service": ("clientsservices.php", {"id": "{id}"}, "Product/service"),
    "domain": ("clientsdomains.php", {"id": "{id}"}, "Domain"),
    "ticket": ("supporttickets.php", {"action": "view", "id": "{id}"}, "Support ticket"),
    "server": ("configservers.php", {"action": "manage", "id": "{id}"}, "Server"),
}


def whmcs_links(
    base_url: str | None, admin_dir: str, subjects: dict[str, int]
) -> list[dict[str, str]]:
    """``[{"label", "url"}]`` for each subject WHMCS has an admin page for; none without a URL."""
    if not base_url:
        return []
    root = f"{base_url.rstrip('/')}/{admin_dir}/"
    links = []
    for subject, ident in subjects.items():
        page = _PAGES.get(subject)
        if page is None or not isinstance(ident, int):
            continue
        path, params, label = page
        query = urlencode({k: v.format(id=ident) for k, v in params.items()})
        links.append({"label": f"{label} #{ident}", "url": f"{root}{path}?{query}"})
    return links
