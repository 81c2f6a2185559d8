"""Tell the coverage scorecard which kinds the rules route to a receiver."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from whmcs_monitor import coverage
from whmcs_monitor.alerting import routing
from whmcs_monitor.alerting.engine import rule_loader
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.config import Settings


def routed_kinds(settings: Settings, _conn: Connection) -> set[str]:
    """Kinds some enabled rule matches and whose alert labels reach a route with a receiver."""
    root = routing.build(settings.alerting.route)
    catalog = load_catalog()
    routed: set[str] = set()
    for rule in rule_loader(settings).load().rules:
        if rule.match is None:
            continue
        for kind in rule.match.kinds:
            entry = catalog.get(kind)
            labels = {
                **rule.labels,
                "rule": rule.name,
                "severity": rule.severity or entry.severity,
                "category": entry.category,
                "source": entry.source,
                "kind": kind,
            }
            if routing.routes_for(root, labels):
                routed.add(kind)
    return routed


coverage.ROUTERS.append(routed_kinds)
