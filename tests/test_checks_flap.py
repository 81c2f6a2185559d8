"""Flap control as pure functions: streaks, thresholds and the events each change stores."""

from __future__ import annotations

import pytest

from whmcs_monitor.checks.flap import FlapState, State, advance, transition_kinds


def run(statuses: str, *, down_after: int = 2, up_after: int = 2) -> list[str]:
    """Feed ``u``/``d``/``g`` (up, down, degraded) results; returns the state after each."""
    names = {"u": "up", "d": "down", "g": "degraded"}
    state = FlapState("unknown")
    seen = []
    for letter in statuses:
        state = advance(state, names[letter], down_after=down_after, up_after=up_after)  # type: ignore[arg-type]
        seen.append(state.state)
    return seen


def test_a_single_failure_between_successes_changes_nothing() -> None:
    assert run("udu") == ["up", "up", "up"]


def test_n_failures_in_a_row_go_down() -> None:
    assert run("uddd", down_after=3) == ["up", "up", "up", "down"]


def test_m_successes_in_a_row_come_back_and_a_failure_resets_the_count() -> None:
    assert run("dduduu", up_after=2) == ["unknown", "down", "down", "down", "down", "up"]


def test_a_new_check_failing_stays_unknown_until_the_threshold() -> None:
    assert run("dd", down_after=2) == ["unknown", "down"]


def test_a_check_wavering_between_up_and_degraded_stays_up() -> None:
    """Without damping, 13 alternating runs stored 12 state changes."""
    assert run("ugugugugugugu") == ["up"] * 13


def test_degraded_needs_n_bad_runs_in_a_row_and_up_m_good_ones() -> None:
    assert run("ugguguu", down_after=2, up_after=2) == [
        "up",
        "up",
        "degraded",
        "degraded",
        "degraded",
        "degraded",
        "up",
    ]


def test_a_mix_of_degraded_and_down_runs_settles_on_degraded() -> None:
    assert run("udgdd", down_after=2) == ["up", "up", "degraded", "degraded", "down"]


def test_a_recovery_from_down_lands_on_the_latest_answer() -> None:
    assert run("ddgg", up_after=2) == ["unknown", "down", "down", "degraded"]


@pytest.mark.parametrize(
    ("before", "after", "kinds"),
    [
        ("unknown", "up", []),
        ("unknown", "down", ["check.down"]),
        ("up", "down", ["check.down"]),
        ("degraded", "down", ["check.down"]),
        ("down", "up", ["check.up"]),
        ("down", "degraded", ["check.up", "check.degraded"]),
        ("up", "degraded", ["check.degraded"]),
        ("degraded", "up", ["check.up"]),
        ("down", "down", []),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(v) or "none",
)
def test_each_state_change_stores_its_kinds(before: State, after: State, kinds: list[str]) -> None:
    assert transition_kinds(before, after) == kinds
