"""The spool and the circuit breaker: private files, a size cap that counts what it drops,
rejected events set aside, concurrent writers, and replay in order."""

from __future__ import annotations

import json
import stat
import subprocess
import time
from pathlib import Path

from php_support import (
    HARNESS_DIR,
    StubCollector,
    module_env,
    run_harness,
    spool_events,
)
from test_redaction_php import bare_entry, module_with_hooks


def env_for(stub: StubCollector, tmp_path: Path, **extra: str) -> dict[str, str]:
    return module_env(
        url=stub.url,
        site_id=stub.site_id,
        secret=stub.secret,
        spool_dir=tmp_path / "spool",
        **extra,
    )


def expire_breaker(spool_dir: Path) -> None:
    state = json.loads((spool_dir / "breaker.json").read_text())
    state["open_until"] = 0
    (spool_dir / "breaker.json").write_text(json.dumps(state))


def module(tmp_path: Path) -> Path:
    return module_with_hooks(tmp_path, [bare_entry("TicketOpen")])


def test_spool_files_are_private(php: str, tmp_path: Path) -> None:
    env = module_env(
        url="http://127.0.0.1:9", site_id="s", secret="k", spool_dir=tmp_path / "spool"
    )
    run_harness(
        php,
        [{"hook": "TicketOpen", "vars": {"ticketid": 1}}],
        env,
        tmp_path,
        module_dir=module(tmp_path),
    )
    spool_dir = tmp_path / "spool"
    assert stat.S_IMODE(spool_dir.stat().st_mode) == 0o700
    files = sorted(p.name for p in spool_dir.iterdir())
    assert files == ["breaker.json", "spool.jsonl", "state.json"]
    for path in spool_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_an_open_breaker_sends_straight_to_the_spool(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    stub_collector.status = 503
    env = env_for(stub_collector, tmp_path)
    mod = module(tmp_path)
    run_harness(php, [{"hook": "TicketOpen", "vars": {"n": 1}}], env, tmp_path, module_dir=mod)
    assert len(stub_collector.requests) == 1
    for n in (2, 3):  # breaker open: no network at all
        run_harness(php, [{"hook": "TicketOpen", "vars": {"n": n}}], env, tmp_path, module_dir=mod)
    assert len(stub_collector.requests) == 1
    assert [e["vars"]["n"] for e in spool_events(tmp_path / "spool")] == [1, 2, 3]
    state = json.loads((tmp_path / "spool" / "state.json").read_text())
    assert state["last_error"].startswith("HTTP 503")

    stub_collector.status = 202
    expire_breaker(tmp_path / "spool")
    run_harness(php, [{"hook": "TicketOpen", "vars": {"n": 4}}], env, tmp_path, module_dir=mod)
    assert sorted(e["vars"]["n"] for e in stub_collector.events) == [1, 2, 3, 4]
    assert spool_events(tmp_path / "spool") == []
    assert not (tmp_path / "spool" / "breaker.json").exists()


def test_the_spool_cap_counts_dropped_events_and_the_heartbeat_reports_them(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    stub_collector.status = 500
    env = env_for(stub_collector, tmp_path, spool_max_bytes="4096")
    calls = [{"hook": "TicketOpen", "vars": {"n": i, "pad": "x" * 200}} for i in range(40)]
    run_harness(php, calls, env, tmp_path, module_dir=module(tmp_path))

    spooled = spool_events(tmp_path / "spool")
    state = json.loads((tmp_path / "spool" / "state.json").read_text())
    assert 0 < len(spooled) < 40
    assert state["dropped_events"] == 40 - len(spooled)
    assert state["last_drop_reason"] == "spool full"
    assert [e["vars"]["n"] for e in spooled] == list(range(len(spooled)))  # oldest kept

    stub_collector.status = 202
    expire_breaker(tmp_path / "spool")
    run_harness(
        php, [{"hook": "AfterCronJob", "vars": {}}], env, tmp_path, module_dir=module(tmp_path)
    )
    beat = next(e for e in stub_collector.events if e.get("kind") == "forwarder.heartbeat")
    assert beat["vars"]["dropped_events"] == 40 - len(spooled)
    drop = next(e for e in stub_collector.events if e.get("kind") == "forwarder.spool_dropped")
    assert drop["vars"]["dropped"] == 40 - len(spooled)
    assert drop["vars"]["reason"] == "spool full"
    assert beat["vars"]["spool_depth"] == len(spooled)  # measured before this run's replay
    assert spool_events(tmp_path / "spool") == []


def test_a_refused_event_is_set_aside_and_the_rest_of_its_batch_delivered(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    calls = [{"hook": "TicketOpen", "vars": {"n": i, "poison": i == 3}} for i in range(6)]
    run_harness(
        php, calls, env_for(stub_collector, tmp_path), tmp_path, module_dir=module(tmp_path)
    )

    assert sorted(e["vars"]["n"] for e in stub_collector.events) == [0, 1, 2, 4, 5]
    rejected = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["vars"]["n"] for line in rejected] == [3]
    state = json.loads((tmp_path / "spool" / "state.json").read_text())
    assert state["rejected_events"] == 1
    assert not (tmp_path / "spool" / "breaker.json").exists()  # a refusal is not an outage


def test_concurrent_writers_lose_nothing_and_replay_stores_each_event_once(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    mod = module(tmp_path)
    down = module_env(
        url="http://127.0.0.1:9",
        site_id=stub_collector.site_id,
        secret=stub_collector.secret,
        spool_dir=tmp_path / "spool",
    )
    procs = []
    for worker in range(6):
        scenario = tmp_path / f"w{worker}.json"
        calls = [{"hook": "TicketOpen", "vars": {"w": worker, "i": i}} for i in range(25)]
        scenario.write_text(json.dumps({"module_dir": str(mod), "calls": calls}))
        procs.append(
            subprocess.Popen(
                [php, str(HARNESS_DIR / "run.php"), str(scenario)],
                env=down,
                stdout=subprocess.DEVNULL,
            )
        )
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    spooled = spool_events(tmp_path / "spool")
    assert len(spooled) == 150
    for worker in range(6):  # each writer's events stay in its order
        mine = [e["vars"]["i"] for e in spooled if e["vars"]["w"] == worker]
        assert mine == list(range(25))

    expire_breaker(tmp_path / "spool")
    up = env_for(stub_collector, tmp_path)
    cron = tmp_path / "cron.json"
    cron.write_text(
        json.dumps({"module_dir": str(mod), "calls": [{"hook": "AfterCronJob", "vars": {}}]})
    )
    runs = [  # three cron runs at once: one replays, the others skip (replay.lock)
        subprocess.Popen(
            [php, str(HARNESS_DIR / "run.php"), str(cron)], env=up, stdout=subprocess.DEVNULL
        )
        for _ in range(3)
    ]
    for proc in runs:
        assert proc.wait(timeout=60) == 0
    time.sleep(0.1)
    stored_ids = [e["id"] for e in stub_collector.events if "hook" in e]
    assert sorted(stored_ids) == sorted(e["id"] for e in spooled)
    assert spool_events(tmp_path / "spool") == []


def test_the_drop_report_is_sent_once_per_new_loss(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir(mode=0o700)
    (spool_dir / "state.json").write_text(json.dumps({"dropped_events": 5}))
    env = env_for(stub_collector, tmp_path)
    mod = module(tmp_path)
    for _ in range(2):
        run_harness(php, [{"hook": "AfterCronJob", "vars": {}}], env, tmp_path, module_dir=mod)
    drops = [e for e in stub_collector.events if e.get("kind") == "forwarder.spool_dropped"]
    assert [d["vars"]["dropped"] for d in drops] == [5]


def test_one_request_of_up_to_500_events_is_one_post(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    calls = [{"hook": "TicketOpen", "vars": {"n": i}} for i in range(500)]
    run_harness(
        php, calls, env_for(stub_collector, tmp_path), tmp_path, module_dir=module(tmp_path)
    )
    assert len(stub_collector.requests) == 1  # the collector's own limit is 500 per batch
    assert len(stub_collector.events) == 500


def test_a_slow_collector_holds_the_flush_no_longer_than_timeout_ms(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir(mode=0o700)
    waiting = [{"id": f"00000000-0000-4000-8000-{i:012d}", "hook": "TicketOpen"} for i in range(50)]
    (spool_dir / "spool.jsonl").write_text("".join(json.dumps(e) + "\n" for e in waiting))
    stub_collector.delay = 0.4
    env = env_for(stub_collector, tmp_path, timeout_ms="1000", max_buffer_events="5000")
    calls = [{"hook": "TicketOpen", "vars": {"n": i}} for i in range(1100)]
    run = run_harness(php, calls, env, tmp_path, module_dir=module(tmp_path))

    # Sending 3 batches and then replaying would take 4 answers of 0.4 s; the budget is 1 s.
    assert run.seconds < 1.0 + 0.6, f"the run took {run.seconds:.2f} s"
    assert len(stub_collector.requests) <= 3
    sent = {e["id"] for e in stub_collector.events}
    spooled = {e["id"] for e in spool_events(spool_dir)}
    assert len(sent | spooled) == 1100 + 50  # nothing lost: the rest waits in the spool
    assert not (spool_dir / "breaker.json").exists()  # a spent budget is not an outage


def test_events_a_spent_budget_leaves_unsorted_are_spooled_not_rejected(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    mod = module(tmp_path)
    calls = [{"hook": "TicketOpen", "vars": {"n": i, "poison": i == 7}} for i in range(8)]
    stub_collector.delay = 0.5  # 1.2 s allow two answers: not enough to isolate event 7
    slow = env_for(stub_collector, tmp_path, timeout_ms="1200")
    run_harness(php, calls, slow, tmp_path, module_dir=mod)

    assert not (spool_dir / "rejected.jsonl").exists()  # nothing refused on its own yet
    assert not (spool_dir / "breaker.json").exists()
    stored = {e["vars"]["n"] for e in stub_collector.events}
    spooled = {e["vars"]["n"] for e in spool_events(spool_dir)}
    assert stored | spooled == set(range(8))
    assert 7 in spooled

    stub_collector.delay = 0  # the next cron run has time to sort them out
    run_harness(php, [{"hook": "AfterCronJob", "vars": {}}], slow, tmp_path, module_dir=mod)
    assert {e["vars"]["n"] for e in stub_collector.events if "hook" in e} == set(range(7))
    rejected = (spool_dir / "rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["vars"]["n"] for line in rejected] == [7]
    assert spool_events(spool_dir) == []


def test_a_short_write_to_the_spool_leaves_no_torn_line_and_no_warning(
    php: str, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    mod = module(tmp_path)
    env = module_env(url="http://127.0.0.1:9", site_id="s", secret="k", spool_dir=spool_dir)
    calls = [{"hook": "TicketOpen", "vars": {"n": i, "pad": "x" * 200}} for i in range(20)]
    full = run_harness(php, calls, env, tmp_path, module_dir=mod, max_file_bytes=2048)

    assert "fwrite" not in full.stderr + full.error_log
    state = json.loads((spool_dir / "state.json").read_text())
    assert state["dropped_events"] == 20  # counted, not silently lost
    assert state["last_drop_reason"] == "spool write failed"

    run_harness(php, [{"hook": "TicketOpen", "vars": {"n": 99}}], env, tmp_path, module_dir=mod)
    assert [e["vars"]["n"] for e in spool_events(spool_dir)] == [99]  # not glued to a torn line


def test_a_short_write_of_the_state_file_keeps_its_counters(php: str, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir(mode=0o700)
    (spool_dir / "state.json").write_text(json.dumps({"dropped_events": 5, "sent_events": 7}))
    env = module_env(url="http://127.0.0.1:9", site_id="s", secret="k", spool_dir=spool_dir)
    calls = [{"hook": "TicketOpen", "vars": {"n": 1}}]
    run = run_harness(php, calls, env, tmp_path, module_dir=module(tmp_path), max_file_bytes=200)

    assert "fwrite" not in run.stderr + run.error_log
    state = json.loads((spool_dir / "state.json").read_text())
    assert state["dropped_events"] == 5 and state["sent_events"] == 7


def test_the_first_refused_event_is_kept_even_before_the_spool_directory_exists(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    calls = [{"hook": "TicketOpen", "vars": {"n": 1, "poison": True}}]
    run_harness(
        php, calls, env_for(stub_collector, tmp_path), tmp_path, module_dir=module(tmp_path)
    )
    rejected = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["vars"]["n"] for line in rejected] == [1]


def test_a_drop_report_that_is_itself_dropped_is_sent_again_later(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir(mode=0o700)
    filler = [
        {"id": f"00000000-0000-4000-8000-{i:012d}", "hook": "TicketOpen", "vars": {"p": "x" * 300}}
        for i in range(10)
    ]
    (spool_dir / "spool.jsonl").write_text("".join(json.dumps(e) + "\n" for e in filler))
    (spool_dir / "state.json").write_text(json.dumps({"dropped_events": 5}))
    mod = module(tmp_path)
    cron = [{"hook": "AfterCronJob", "vars": {}}]
    down = module_env(
        url="http://127.0.0.1:9", site_id="s", secret="k", spool_dir=spool_dir,
        spool_max_bytes="4096",
    )  # fmt: skip
    run_harness(php, cron, down, tmp_path, module_dir=mod)  # the spool is full: report dropped
    state = json.loads((spool_dir / "state.json").read_text())
    assert state["dropped_events"] == 7  # the 5, then the heartbeat and the report itself
    assert state["dropped_reported"] == 0

    expire_breaker(spool_dir)
    run_harness(php, cron, env_for(stub_collector, tmp_path), tmp_path, module_dir=mod)
    drops = [e for e in stub_collector.events if e.get("kind") == "forwarder.spool_dropped"]
    assert [d["vars"]["dropped"] for d in drops] == [7]
