"""The coverage scorecard of the operator's audit, computed from the catalog, config and store.

For each category: the kinds possible (catalog), wired (a source that produces them is set up),
observed (seen in the last 7 days) and routed (an alert rule sends them to a receiver). Each part
of the system says what it wires or routes by registering a provider below, so the scorecard
grows as parts land instead of being edited by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Connection

from whmcs_monitor.catalog import Catalog, EventKind
from whmcs_monitor.config import Settings
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.events import kinds_seen_since, sites_with_source

OBSERVATION_WINDOW = timedelta(days=7)
ROUTING_ACTION = (
    "no alert rule sends these to a receiver: add a rule that matches them to a file in "
    "alerting.rule_files, and make alerting.route lead its alerts to a receiver"
)

# (source, category) -> (is it wired?, what to do when it is not). A category of None covers
# the source's kinds in every category without a registration of its own.
WiringCheck = Callable[[Settings, Connection], bool]
WIRING: dict[tuple[str, str | None], tuple[WiringCheck, str]] = {}
# Each returns the kinds its rules route to a receiver.
ROUTERS: list[Callable[[Settings, Connection], set[str]]] = []


def wires(
    source: str, action: str, *, category: str | None = None
) -> Callable[[WiringCheck], WiringCheck]:
    """Register how to tell that ``source`` is wired, and the action that wires it; with
    ``category``, only for that category's kinds (one source, two producers)."""

    def register(check: WiringCheck) -> WiringCheck:
        WIRING[(source, category)] = (check, action)
        return check

    return register


def _demo_sites(settings: Settings) -> list[str]:
    return [settings.demo.site_id]


@wires(
    "hook", "install the WHMCS addon module: `whmcs-monitor whmcs install-module /path/to/whmcs`"
)
def _hooks_wired(settings: Settings, conn: Connection) -> bool:
    return bool(sites_with_source(conn, "hook", exclude_sites=_demo_sites(settings)))


@wires(
    "poll",
    "give a site read-only WHMCS database access (sites[].database) or API access (sites[].api)",
)
def _poll_wired(settings: Settings, _conn: Connection) -> bool:
    return any(site.database or site.api for site in settings.sites)


@wires("monitor", "nothing to do: the monitor produces these itself")
def _monitor_wired(_settings: Settings, _conn: Connection) -> bool:
    return True


@dataclass
class Gap:
    category: str
    stage: str  # "wired" | "observed" | "routed"
    kinds: list[str]
    action: str


@dataclass
class CategoryScore:
    category: str
    title: str
    possible: int
    wired: int
    observed: int
    routed: int
    gaps: list[Gap] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.wired / self.possible) if self.possible else 100


@dataclass
class Scorecard:
    categories: list[CategoryScore]

    @property
    def totals(self) -> CategoryScore:
        total = CategoryScore("total", "Total", 0, 0, 0, 0)
        for score in self.categories:
            total.possible += score.possible
            total.wired += score.wired
            total.observed += score.observed
            total.routed += score.routed
        return total

    def as_json(self) -> dict[str, object]:
        def row(s: CategoryScore) -> dict[str, object]:
            return {
                "category": s.category,
                "title": s.title,
                "possible": s.possible,
                "wired": s.wired,
                "observed": s.observed,
                "routed": s.routed,
                "percent": s.percent,
            }

        return {
            "window_days": OBSERVATION_WINDOW.days,
            "categories": [row(s) for s in self.categories],
            "total": row(self.totals),
            "gaps": [gap.__dict__ for s in self.categories for gap in s.gaps],
        }


def _wiring(kind: EventKind) -> tuple[WiringCheck, str] | None:
    return WIRING.get((kind.source, kind.category)) or WIRING.get((kind.source, None))


def _is_wired(kind: EventKind, settings: Settings, conn: Connection) -> bool:
    wiring = _wiring(kind)
    return wiring is not None and wiring[0](settings, conn)


def _not_wired_action(kind: EventKind) -> str:
    wiring = _wiring(kind)
    if wiring is not None:
        return wiring[1]
    return f"nothing in this installation produces {kind.source} events"


def _wired_kinds(catalog: Catalog, settings: Settings, conn: Connection) -> set[str]:
    """Each wiring check runs once (some read the store), whatever the number of kinds."""
    verdicts: dict[tuple[str, str], bool] = {}
    for kind in catalog.events:
        key = (kind.source, kind.category)
        if key not in verdicts:
            verdicts[key] = _is_wired(kind, settings, conn)
    return {kind.kind for kind in catalog.events if verdicts[(kind.source, kind.category)]}


def _load_parts() -> None:
    """Each part registers its wiring check (and alerting its router) when imported. Import
    them all here, so that the scorecard is the same whoever asks: the CLI, the dashboard or a
    test that built the app alone. (Imported late: they import this module.)"""
    import whmcs_monitor.alerting.coverage_routes
    import whmcs_monitor.analytics.coverage
    import whmcs_monitor.checks.scheduler
    import whmcs_monitor.files.coverage  # noqa: F401


def compute(catalog: Catalog, settings: Settings, conn: Connection) -> Scorecard:
    _load_parts()
    wired = _wired_kinds(catalog, settings, conn)
    observed = kinds_seen_since(
        conn, utcnow() - OBSERVATION_WINDOW, exclude_sites=_demo_sites(settings)
    )
    routed: set[str] = set()
    for router in ROUTERS:
        routed |= router(settings, conn)
    scores = []
    for category in catalog.categories:
        kinds = catalog.in_category(category.id)
        score = CategoryScore(
            category.id,
            category.title,
            len(kinds),
            wired=sum(k.kind in wired for k in kinds),
            observed=sum(k.kind in observed for k in kinds),
            routed=sum(k.kind in routed for k in kinds),
        )
        score.gaps = _gaps(category.id, kinds, wired, observed, routed)
        scores.append(score)
    return Scorecard(scores)


def _gaps(
    category: str,
    kinds: tuple[EventKind, ...],
    wired: set[str],
    observed: set[str],
    routed: set[str],
) -> list[Gap]:
    gaps: list[Gap] = []
    unwired = [k for k in kinds if k.kind not in wired]
    for action in sorted({_not_wired_action(k) for k in unwired}):
        names = [k.kind for k in unwired if _not_wired_action(k) == action]
        gaps.append(Gap(category, "wired", names, action))
    unseen = [k.kind for k in kinds if k.kind in wired and k.kind not in observed]
    if unseen:
        gaps.append(
            Gap(
                category,
                "observed",
                unseen,
                "wired but not seen in 7 days: fine if rare; otherwise check the source "
                "(the module is activated, the poller runs) with `whmcs-monitor events`",
            )
        )
    unrouted = [k.kind for k in kinds if k.kind not in routed]
    if unrouted:
        gaps.append(Gap(category, "routed", unrouted, ROUTING_ACTION))
    return gaps
