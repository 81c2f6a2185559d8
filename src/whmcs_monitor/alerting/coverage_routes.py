"""Tell the coverage scorecard which kinds the rules route to a receiver."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from whmcs_monitor import coverage
from whmcs_monitor.alerting import routing
from whmcs_monitor.alerting.engine import rule_loader
from whmcs_monitor.alerting.rules import EventMatch, Rule
from whmcs_monitor.catalog import Catalog, EventKind, load_catalog
from whmcs_monitor.config import Settings
from whmcs_monitor.notify.outbox import MONITOR_SITE

# Kinds read from a WHMCS installation carry its site id; the monitor's own (checks, files,
# ingest refusals) may also carry the monitor's site.
WHMCS_SOURCES = frozenset({"hook", "poll", "analytics"})


def _sites(settings: Settings, rule: Rule, entry: EventKind) -> list[str]:
    """The sites an alert of ``rule`` on ``entry`` can carry: routes often match on them."""
    sites = [site.id for site in settings.sites]
    if entry.source not in WHMCS_SOURCES:
        sites.append(MONITOR_SITE)
    wanted = rule.match.sites if rule.match else []
    return [site for site in sites if not wanted or site in wanted]


def _reaches_a_receiver(root: routing.Route, labels: dict[str, str], sites: list[str]) -> bool:
    return any(routing.routes_for(root, {**labels, "site": site}) for site in sites)


def _matched_kinds(match: EventMatch, catalog: Catalog) -> list[str]:
    """The kinds a match can take: those it names, or every kind of the categories it names
    (both narrow it when both are given)."""
    if not match.categories:
        return match.kinds
    in_categories = [e.kind for c in match.categories for e in catalog.in_category(c)]
    return [k for k in in_categories if not match.kinds or k in match.kinds]


def routed_kinds(settings: Settings, _conn: Connection) -> set[str]:
    """Kinds some enabled rule matches and whose alert labels, for some site they can come
    from, reach a route with a receiver."""
    root = routing.build(settings.alerting.route)
    catalog = load_catalog()
    routed: set[str] = set()
    for rule in rule_loader(settings).load().rules:
        if rule.match is None:
            continue
        for kind in _matched_kinds(rule.match, catalog):
            entry = catalog.get(kind)
            labels = {
                **rule.labels,
                "rule": rule.name,
                "severity": rule.severity or entry.severity,
                "category": entry.category,
                "source": entry.source,
                "kind": kind,
            }
            if _reaches_a_receiver(root, labels, _sites(settings, rule, entry)):
                routed.add(kind)
    return routed


coverage.ROUTERS.append(routed_kinds)
