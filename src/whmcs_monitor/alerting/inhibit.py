"""Inhibition: a firing source alert mutes target alerts that share its ``equal`` labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property

from whmcs_monitor.alerting.candidates import Candidate
from whmcs_monitor.alerting.config import InhibitRule
from whmcs_monitor.alerting.matchers import matches_all


class Inhibitor:
    """Sources are every open alert, read only when some alert of the pass is a possible target;
    a source may be silenced itself and still inhibit."""

    def __init__(
        self, rules: Sequence[InhibitRule], open_alerts: Callable[[], Sequence[Candidate]]
    ) -> None:
        self.rules = rules
        self._open_alerts = open_alerts

    @cached_property
    def sources(self) -> list[Candidate]:
        return [c for c in self._open_alerts() if not c.resolved]

    def mutes(self, candidate: Candidate) -> str | None:
        labels = candidate.labels
        for rule in self.rules:
            if not matches_all(rule.target, labels):
                continue
            for source in self.sources:
                if source.id == candidate.id:
                    continue
                other = source.labels
                if matches_all(rule.source, other) and all(
                    labels.get(name, "") == other.get(name, "") for name in rule.equal
                ):
                    return (
                        f"inhibited by alert {source.id} ({other.get('rule', '?')}) "
                        f"through inhibit rule {rule.name}"
                    )
        return None
