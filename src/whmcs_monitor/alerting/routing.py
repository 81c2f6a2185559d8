"""The routing tree: which receivers an alert goes to, and with which grouping settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from whmcs_monitor.alerting.config import RouteConfig
from whmcs_monitor.alerting.matchers import Matcher, matches_all

DEFAULT_GROUP_BY = ("rule", "site")
DEFAULT_GROUP_WAIT = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)


@dataclass(frozen=True)
class Route:
    """A node with its inherited settings filled in; ``path`` names it ("0.2" is root's third child)."""

    path: str
    matchers: tuple[Matcher, ...]
    receiver: str | None
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    continue_: bool
    children: tuple[Route, ...]


def build(config: RouteConfig, parent: Route | None = None, path: str = "0") -> Route:
    node = Route(
        path=path,
        matchers=tuple(config.match),
        receiver=config.receiver
        if config.receiver is not None
        else (parent.receiver if parent else None),
        group_by=tuple(config.group_by)
        if config.group_by is not None
        else (parent.group_by if parent else DEFAULT_GROUP_BY),
        group_wait=config.group_wait
        if config.group_wait is not None
        else (parent.group_wait if parent else DEFAULT_GROUP_WAIT),
        group_interval=config.group_interval
        if config.group_interval is not None
        else (parent.group_interval if parent else DEFAULT_GROUP_INTERVAL),
        repeat_interval=config.repeat_interval
        if config.repeat_interval is not None
        else (parent.repeat_interval if parent else DEFAULT_REPEAT_INTERVAL),
        continue_=config.continue_,
        children=(),
    )
    children = tuple(build(child, node, f"{path}.{i}") for i, child in enumerate(config.routes))
    return Route(**{**node.__dict__, "children": children})


def routes_for(root: Route, labels: Mapping[str, str]) -> list[Route]:
    """The matching routes, Alertmanager-style: the first matching child wins unless it says
    ``continue``; a node no child matches handles the alert itself."""
    if not matches_all(root.matchers, labels):
        return []
    found: list[Route] = []
    for child in root.children:
        matched = routes_for(child, labels)
        found.extend(matched)
        if matched and not child.continue_:
            break
    return found or ([root] if root.receiver is not None else [])
