"""The muter contract shared by inhibition, silences, maintenance windows and acknowledgement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from whmcs_monitor.alerting.candidates import Candidate, Stage


class Muter(Protocol):
    def mutes(self, candidate: Candidate) -> str | None:
        """Why this alert must not be notified now, or ``None``."""


def mute_stage(muter: Muter) -> Stage:
    """A stage that drops what ``muter`` mutes, except owed resolved notices (never lost)."""

    def stage(candidates: Sequence[Candidate]) -> list[Candidate]:
        passed = []
        for candidate in candidates:
            reason = None if candidate.resolved else muter.mutes(candidate)
            if reason is None:
                passed.append(candidate)
            else:
                candidate.suppressed = reason
        return passed

    return stage


class Acknowledged:
    """An acknowledged alert stops repeating and escalating; its resolution is still sent."""

    def mutes(self, candidate: Candidate) -> str | None:
        row = candidate.row
        return f"acknowledged by {row.acked_by}" if row.state == "acknowledged" else None
