"""The PHP module against the real collector: kinds, secrets, outages and replay, exceptions.

php-cli runs the real module in the emulated WHMCS (tests/php/harness); the ``collector`` fixture
(tests/conftest.py) is the real service on a loopback port, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from php_support import (
    MODULE_DIR,
    all_files_text,
    module_env,
    run_harness,
    spool_events,
)
from scenarios import SECRETS, vars_for

from support import IN_CI, Collector
from whmcs_monitor.catalog import load_catalog

SECRET_VALUES = [*SECRETS.values(), SECRETS["card_spaced"].replace(" ", "")]


def catalog_hooks() -> dict[str, str]:
    """hook -> kind, from the shipped hooks.json."""
    document = json.loads((MODULE_DIR / "hooks.json").read_text())
    return {h["hook"]: h["kind"] for h in document["hooks"]}


def env_for(collector: Collector, tmp_path: Path, **extra: str) -> dict[str, str]:
    return module_env(
        url=collector.url,
        site_id=collector.site_id,
        secret=collector.secret,
        spool_dir=tmp_path / "spool",
        opt_in_hooks="all",
        **extra,
    )


def close_breaker(spool_dir: Path) -> None:
    """Let the 60 s breaker window pass without waiting for it."""
    path = spool_dir / "breaker.json"
    if path.exists():
        state = json.loads(path.read_text())
        state["open_until"] = 0
        path.write_text(json.dumps(state))


def hook_events(collector: Collector) -> list[dict[str, Any]]:
    """Stored hook events, leaving out the AfterCronJob events that trigger replays."""
    return [e for e in collector.events() if e["hook"] not in (None, "AfterCronJob")]


def test_every_catalog_hook_arrives_with_its_kind(
    php: str, collector: Collector, tmp_path: Path
) -> None:
    hooks = catalog_hooks()
    calls = [{"hook": hook, "vars": vars_for(hook)} for hook in hooks]
    run = run_harness(php, calls, env_for(collector, tmp_path), tmp_path)

    assert run.report["escaped"] == []
    stored = [e for e in collector.events() if e["hook"] is not None]
    assert sorted((e["hook"], e["kind"]) for e in stored) == sorted(hooks.items())
    assert all(e["site"] == collector.site_id for e in stored)
    assert all(e["context"]["request"] == "cron" for e in stored)
    assert spool_events(tmp_path / "spool") == []


def test_no_seeded_secret_reaches_the_collector_the_spool_or_a_log(
    php: str, collector: Collector, tmp_path: Path
) -> None:
    hooks = catalog_hooks()
    calls = [{"hook": hook, "vars": vars_for(hook)} for hook in hooks]
    # Half the run with the collector up, half with it down: both paths must be clean.
    run_up = run_harness(php, calls, env_for(collector, tmp_path), tmp_path)
    collector.stop()
    run_down = run_harness(php, calls, env_for(collector, tmp_path), tmp_path)
    collector.start()

    stored = json.dumps(collector.events())
    spool = all_files_text(tmp_path / "spool")
    logs = "".join(r.stdout + r.stderr + r.error_log for r in (run_up, run_down))
    assert len([e for e in spool_events(tmp_path / "spool") if "hook" in e]) == len(hooks)
    for secret in SECRET_VALUES:
        assert secret not in stored, f"{secret} reached the collector"
        assert secret not in spool, f"{secret} reached the spool"
        assert secret not in logs, f"{secret} reached a log"


def test_with_the_collector_down_events_are_spooled_and_replayed_exactly_once(
    php: str, collector: Collector, tmp_path: Path
) -> None:
    hooks = list(catalog_hooks())
    spool_dir = tmp_path / "spool"
    collector.stop()
    for round_ in range(3):  # three requests while the collector is down
        calls = [
            {"hook": hooks[i % len(hooks)], "vars": {"round": round_, "i": i}} for i in range(4)
        ]
        run = run_harness(php, calls, env_for(collector, tmp_path), tmp_path)
        assert run.report["escaped"] == []
    spooled = spool_events(spool_dir)
    assert len(spooled) == 12
    assert (spool_dir / "breaker.json").exists()

    collector.start()
    close_breaker(spool_dir)
    run_harness(php, [{"hook": "AfterCronJob", "vars": {}}], env_for(collector, tmp_path), tmp_path)

    stored = hook_events(collector)
    assert [e["id"] for e in stored] == [e["id"] for e in spooled]  # each once, in spool order
    assert spool_events(spool_dir) == []

    # A replayer that died after sending but before truncating sends it all again: harmless.
    (spool_dir / "spool.jsonl").write_text("".join(json.dumps(e) + "\n" for e in spooled))
    run_harness(php, [{"hook": "AfterCronJob", "vars": {}}], env_for(collector, tmp_path), tmp_path)
    assert [e["id"] for e in hook_events(collector)] == [e["id"] for e in spooled]
    state = json.loads((spool_dir / "state.json").read_text())
    assert state["dropped_events"] == 0
    assert spool_events(spool_dir) == []


def test_a_successful_send_replays_the_spool_without_waiting_for_cron(
    php: str, collector: Collector, tmp_path: Path
) -> None:
    hook = next(iter(catalog_hooks()))
    collector.stop()
    run_harness(php, [{"hook": hook, "vars": {"n": 1}}], env_for(collector, tmp_path), tmp_path)
    collector.start()
    close_breaker(tmp_path / "spool")
    run_harness(php, [{"hook": hook, "vars": {"n": 2}}], env_for(collector, tmp_path), tmp_path)

    assert sorted(e["payload"].get("n") for e in hook_events(collector)) == [1, 2]
    assert spool_events(tmp_path / "spool") == []


def test_an_exception_inside_the_handler_never_reaches_whmcs(
    php: str, collector: Collector, tmp_path: Path
) -> None:
    hook = next(iter(catalog_hooks()))
    exploding = {"__object__": "Harness\\Exploding"}
    calls = [
        {"hook": hook, "vars": {"invoice": exploding, "nested": {"deeper": [exploding]}}},
        {"hook": hook, "vars": exploding},
    ]
    run = run_harness(php, calls, env_for(collector, tmp_path), tmp_path)

    assert run.report["escaped"] == []
    assert [c["returned"] for c in run.report["calls"]] == [[], []]
    stored = hook_events(collector)
    assert len(stored) == 2
    assert stored[0]["payload"]["invoice"] == {"_class": "Exploding", "_unreadable": True}


def test_after_cron_job_delivers_a_heartbeat(
    php: str, collector: Collector, tmp_path: Path
) -> None:
    if not load_catalog().resolve("forwarder.heartbeat"):
        reason = "the event catalog has no forwarder.heartbeat kind yet"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    run_harness(php, [{"hook": "AfterCronJob", "vars": {}}], env_for(collector, tmp_path), tmp_path)
    beats = [e for e in collector.events() if e["kind"] == "forwarder.heartbeat"]
    assert len(beats) == 1
    assert beats[0]["payload"]["spool_depth"] == 0
    assert beats[0]["payload"]["dropped_events"] == 0


def test_nul_bytes_in_values_and_keys_do_not_cost_the_event(
    php: str, collector: Collector, tmp_path: Path
) -> None:
    hook = next(iter(catalog_hooks()))
    calls = [
        {"hook": hook, "vars": {"n": 1, "message": "hello\x00world"}},
        {"hook": hook, "vars": {"n": 2, "a\x00b": 1, "nested": {"x\x00": ["\x00"]}}},
        {"hook": hook, "vars": {"n": 3}},
    ]
    run_harness(php, calls, env_for(collector, tmp_path), tmp_path)

    stored = {e["payload"]["n"]: e["payload"] for e in hook_events(collector)}
    assert sorted(stored) == [1, 2, 3]
    assert stored[1]["message"] == "hello\ufffdworld"
    assert stored[2]["a\ufffdb"] == 1
    assert stored[2]["nested"] == {"x\ufffd": ["\ufffd"]}
    assert not (tmp_path / "spool" / "rejected.jsonl").exists()
