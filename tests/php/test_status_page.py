"""The admin status page (_output) and its "Send test event" button."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from php_support import HARNESS_DIR, MODULE_DIR, StubCollector, module_env


def render(php: str, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [php, str(HARNESS_DIR / "output_page.php"), str(MODULE_DIR), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert proc.stderr == ""
    return proc.stdout


def test_the_status_page_shows_delivery_state_and_versions(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir(mode=0o700)
    (spool_dir / "spool.jsonl").write_text('{"id":"a"}\n{"id":"b"}\n')
    (spool_dir / "state.json").write_text(
        json.dumps({"dropped_events": 3, "last_error": "HTTP 503: down", "last_error_at": "x"})
    )
    env = module_env(
        url=stub_collector.url,
        site_id=stub_collector.site_id,
        secret=stub_collector.secret,
        spool_dir=spool_dir,
    )
    page = render(php, env)
    hooks = json.loads((MODULE_DIR / "hooks.json").read_text())["hooks"]
    registered = sum(not h["opt_in"] for h in hooks)

    assert '<th style="width:14em">Spool depth</th><td>2 event(s)' in page
    assert "Dropped events</th><td>3" in page
    assert "HTTP 503: down" in page
    assert "Circuit breaker</th><td>closed" in page
    assert f"Hooks registered</th><td>{registered} of {len(hooks)} in hooks.json" in page
    assert "Module version</th><td>0.1.0" in page
    assert "Send test event" in page
    assert stub_collector.secret not in page


def test_send_test_event_reports_the_collectors_answer(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    env = module_env(
        url=stub_collector.url,
        site_id=stub_collector.site_id,
        secret=stub_collector.secret,
        spool_dir=tmp_path / "spool",
    )
    page = render(php, env, "test")
    assert "Collector answered HTTP 202" in page
    assert "&quot;accepted&quot;: 1" in page
    (event,) = stub_collector.events
    assert event["kind"] == "forwarder.heartbeat"
    assert event["vars"]["test"] is True
    assert event["context"]["request"] == "admin"


def test_send_test_event_shows_the_failure(php: str, tmp_path: Path) -> None:
    env = module_env(url="http://127.0.0.1:9", site_id="s", secret="k", spool_dir=tmp_path / "s")
    page = render(php, env, "test")
    assert "Test event failed after" in page
    assert "curl error 7" in page
