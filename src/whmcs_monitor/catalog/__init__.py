"""The event catalog: the single list of every kind of event whmcs-monitor knows.

The PHP module's hook list, the default rules, the coverage scorecard and the docs derive from
``events.yaml``; nothing lists hooks a second time by hand.
"""

from whmcs_monitor.catalog.loader import (
    Catalog,
    Category,
    EventKind,
    Severity,
    Source,
    load_catalog,
)

__all__ = ["Catalog", "Category", "EventKind", "Severity", "Source", "load_catalog"]
