"""Flap control: a check goes down after N failed runs in a row and comes back after M good
ones. Pure functions, so the rule is tested without a clock or a database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from whmcs_monitor.checks.base import Status

State = Literal["unknown", "up", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class FlapState:
    state: State
    fail_streak: int = 0
    ok_streak: int = 0


def advance(previous: FlapState, status: Status, *, down_after: int, up_after: int) -> FlapState:
    """The state after one more result.

    A failure counts towards ``down_after`` and the state changes only when the streak gets
    there; a success (up or degraded) leaves ``down`` only after ``up_after`` in a row. Between
    up and degraded there is no damping: both mean the check answers.
    """
    if status == "down":
        streak = previous.fail_streak + 1
        state: State = "down" if streak >= down_after else previous.state
        return FlapState(state, streak, 0)
    streak = previous.ok_streak + 1
    if previous.state == "down" and streak < up_after:
        return FlapState("down", 0, streak)
    return FlapState(status, 0, streak)


def transition_kinds(before: State, after: State) -> list[str]:
    """The catalog kinds a state change stores, in order (none when nothing changed)."""
    if before == after:
        return []
    if after == "down":
        return ["check.down"]
    kinds = ["check.up"] if before in ("down", "degraded") else []
    if after == "degraded":
        kinds.append("check.degraded")
    return kinds
