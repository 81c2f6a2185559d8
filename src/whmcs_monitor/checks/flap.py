"""Flap control: a check goes down (or degraded) after N bad runs in a row and comes back after M
good ones. Pure functions, so the rule is tested without a clock or a database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from whmcs_monitor.checks.base import Status

State = Literal["unknown", "up", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class FlapState:
    """The state and the two streaks that decide when it changes.

    ``fail_streak`` counts down results in a row. ``ok_streak`` counts the results in a row that
    argue for leaving ``state`` other than by going down: in ``down``, results that answer (up or
    degraded); in ``degraded``, up results; in ``up`` or ``unknown``, results that are not up.
    (The names are those of the ``check_state`` columns the streaks are stored in.)
    """

    state: State
    fail_streak: int = 0
    ok_streak: int = 0


def advance(previous: FlapState, status: Status, *, down_after: int, up_after: int) -> FlapState:
    """The state after one more result. Every change is damped, so a check that wavers between
    two answers stays put:

    - ``down`` after ``down_after`` down results in a row;
    - ``degraded`` after ``down_after`` results in a row that are not up (a mix of degraded and
      down settles on degraded);
    - back from ``down`` after ``up_after`` results in a row that answer, to the latest of them;
    - back from ``degraded`` to ``up`` after ``up_after`` up results in a row.

    A new check stays ``unknown`` until its first up result or a confirmed problem.
    """
    fails = previous.fail_streak + 1 if status == "down" else 0
    if fails >= down_after:
        return FlapState("down", fails, 0)
    if previous.state == "down":
        streak = previous.ok_streak + 1 if status != "down" else 0
        return FlapState(status, 0, 0) if streak >= up_after else FlapState("down", fails, streak)
    if previous.state == "degraded":
        streak = previous.ok_streak + 1 if status == "up" else 0
        return FlapState("up", 0, 0) if streak >= up_after else FlapState("degraded", fails, streak)
    streak = previous.ok_streak + 1 if status != "up" else 0
    if streak >= down_after:
        return FlapState("degraded", fails, 0)
    return FlapState("up" if status == "up" else previous.state, fails, streak)


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
