"""The module's contract with WHMCS and with the ingest protocol, against a stub endpoint.

The stub checks signatures independently of the module's code; what a real collector stores is
covered by test_module_forwarding.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from php_support import (
    HARNESS_DIR,
    MODULE_DIR,
    StubCollector,
    module_env,
    run_harness,
    spool_events,
)
from scenarios import vars_for
from test_redaction_php import bare_entry, module_with_hooks

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RFC3339_MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def env_for(stub: StubCollector, tmp_path: Path, **extra: str) -> dict[str, str]:
    return module_env(
        url=stub.url,
        site_id=stub.site_id,
        secret=stub.secret,
        spool_dir=tmp_path / "spool",
        **extra,
    )


def test_a_request_sends_one_signed_batch_at_shutdown(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    module = module_with_hooks(tmp_path, [bare_entry(h) for h in ("TicketOpen", "TicketClose")])
    calls = [{"hook": "TicketOpen", "vars": {"ticketid": i}} for i in range(5)]
    calls.append({"hook": "TicketClose", "vars": {"ticketid": 1}})
    run = run_harness(php, calls, env_for(stub_collector, tmp_path), tmp_path, module_dir=module)

    assert (
        run.report["buffered"] == 6
    )  # nothing left before shutdown: the request path only buffers
    assert len(stub_collector.requests) == 1
    assert stub_collector.requests[0]["path"] == "/api/v1/ingest"
    assert stub_collector.requests[0]["signed"]
    assert stub_collector.bad_signatures == 0
    events = json.loads(stub_collector.requests[0]["body"])["events"]
    assert [e["vars"].get("ticketid") for e in events] == [0, 1, 2, 3, 4, 1]
    for event in events:
        assert UUID4.match(event["id"])
        assert RFC3339_MICRO.match(event["occurred_at"])
        assert event["context"] == {
            "module_version": "0.1.0",
            "whmcs_version": "8.13.1-release.1",
            "request": "cron",
        }
    assert len({e["id"] for e in events}) == 6


def test_handlers_return_nothing_and_never_let_an_exception_out(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    hooks = ["PreModuleCreate", "ClientAreaPage", "TicketOpen"]
    module = module_with_hooks(tmp_path, [bare_entry(h) for h in hooks])
    exploding = {"__object__": "Harness\\Exploding"}
    calls = [
        {"hook": "PreModuleCreate", "vars": vars_for("PreModuleCreate")},
        {"hook": "ClientAreaPage", "vars": {"user": exploding, "deep": {"x": [exploding]}}},
        {"hook": "TicketOpen", "vars": exploding},  # a positional object, as ClientAlert gets
    ]
    stub_collector.status = 500  # and the collector is failing too
    run = run_harness(php, calls, env_for(stub_collector, tmp_path), tmp_path, module_dir=module)

    assert run.report["escaped"] == []
    assert all(call["returned"] == [] for call in run.report["calls"])
    assert "Fatal" not in run.stderr and "Warning" not in run.stderr
    assert len(spool_events(tmp_path / "spool")) == 3
    user = spool_events(tmp_path / "spool")[1]["vars"]["user"]
    assert user == {"_class": "Exploding", "_unreadable": True}


def test_a_broken_spool_directory_still_never_reaches_whmcs(php: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the spool directory should be")
    env = module_env(url="http://127.0.0.1:9", site_id="s", secret="k", spool_dir=blocker / "spool")
    run = run_harness(php, [{"hook": "InvoicePaid", "vars": {"invoiceid": 1}}], env, tmp_path)

    assert run.report["escaped"] == []
    assert run.stderr == ""
    # The loss is not silent: it is logged (counts only) when even the counter cannot be stored.
    assert "1 event(s) dropped" in run.error_log


def test_an_unconfigured_module_registers_nothing(php: str, tmp_path: Path) -> None:
    env = module_env(url="", site_id="", secret="", spool_dir=tmp_path / "spool")
    run = run_harness(php, [{"hook": "InvoicePaid", "vars": {"invoiceid": 1}}], env, tmp_path)
    assert run.report["registered"] == []
    assert run.report["hooks_registered"] is None


def test_opt_in_hooks_and_categories_are_registered_only_when_enabled(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    entries = [
        bare_entry("InvoicePaid", category="orders_payments"),
        bare_entry("TicketOpen", category="support"),
        bare_entry("ClientAreaPage", category="system_health", opt_in=True, kind="traffic.page"),
    ]
    module = module_with_hooks(tmp_path, entries)

    def registered(**settings: str) -> set[str]:
        run = run_harness(
            php, [], env_for(stub_collector, tmp_path, **settings), tmp_path, module_dir=module
        )
        return set(run.report["registered"]) - {"AfterCronJob"}

    assert registered() == {"InvoicePaid", "TicketOpen"}
    assert registered(opt_in_hooks="ClientAreaPage") == {
        "InvoicePaid",
        "TicketOpen",
        "ClientAreaPage",
    }
    assert registered(opt_in_hooks="traffic.page") == {
        "InvoicePaid",
        "TicketOpen",
        "ClientAreaPage",
    }
    assert registered(categories="support,system_health", opt_in_hooks="all") == {
        "TicketOpen",
        "ClientAreaPage",
    }


def test_after_cron_job_sends_a_heartbeat(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    run_harness(
        php, [{"hook": "AfterCronJob", "vars": {}}], env_for(stub_collector, tmp_path), tmp_path
    )
    beats = [e for e in stub_collector.events if e.get("kind") == "forwarder.heartbeat"]
    assert len(beats) == 1
    assert "hook" not in beats[0]
    hooks_json = json.loads((MODULE_DIR / "hooks.json").read_text())
    assert beats[0]["vars"] == {
        "module_version": "0.1.0",
        "catalog_version": hooks_json["catalog_version"],
        "hooks_registered": len(hooks_json["hooks"])
        - sum(h["opt_in"] for h in hooks_json["hooks"]),
        "spool_depth": 0,
        "dropped_events": 0,
        "rejected_events": 0,
        "php_version": beats[0]["vars"]["php_version"],
        "whmcs_version": "8.13.1-release.1",
    }
    assert re.match(r"^\d+\.\d+\.\d+", beats[0]["vars"]["php_version"])


def probe_config(
    php: str, tmp_path: Path, env: dict[str, str], config_php: str | None, db: dict[str, str]
) -> dict:
    module = tmp_path / "cfgmodule"
    if not module.exists():
        module.mkdir()
        (module / "lib").symlink_to(MODULE_DIR / "lib")
    if config_php is not None:
        (module / "config.php").write_text(config_php)
    (tmp_path / "db.json").write_text(json.dumps(db))
    proc = subprocess.run(
        [
            php,
            "-d",
            "display_errors=stderr",
            str(HARNESS_DIR / "config_probe.php"),
            str(module),
            str(tmp_path / "db.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def test_config_precedence_is_env_then_config_php_then_database(php: str, tmp_path: Path) -> None:
    env = module_env(url="https://env.example", site_id="", secret="", spool_dir=tmp_path)
    del env["WHMCS_MONITOR_SITE_ID"], env["WHMCS_MONITOR_SECRET"], env["WHMCS_MONITOR_SPOOL_DIR"]
    config_php = (
        "<?php return ['collector_url' => 'https://file.example', 'site_id' => 'file-site'];"
    )
    db = {
        "collector_url": "https://db.example",
        "site_id": "db-site",
        "secret": "db-secret",
        "timeout_ms": "900",
    }
    out = probe_config(php, tmp_path, env, config_php, db)

    assert out["values"]["collector_url"] == "https://env.example"
    assert out["sources"]["collector_url"] == "env"
    assert out["values"]["site_id"] == "file-site"
    assert out["sources"]["site_id"] == "config.php"
    assert out["values"]["secret"] == "db-secret"
    assert out["sources"]["secret"] == "database"
    assert out["values"]["timeout_ms"] == 900
    assert out["ingest_url"] == "https://env.example/api/v1/ingest"


def test_addon_settings_fill_what_the_installers_config_php_leaves_unset(
    php: str, tmp_path: Path
) -> None:
    env = module_env(url="", site_id="", secret="", spool_dir=tmp_path)
    env = {k: v for k, v in env.items() if not k.startswith("WHMCS_MONITOR_")}
    config_php = (
        "<?php return ['collector_url' => 'https://file.example', 'site_id' => 'file-site',"
        " 'secret' => 'file-secret'];"
    )
    db = {"site_id": "db-site", "categories": "security,clients", "timeout_ms": "900"}
    out = probe_config(php, tmp_path, env, config_php, db)

    assert out["values"]["site_id"] == "file-site"
    assert out["sources"]["site_id"] == "config.php"
    assert out["values"]["categories"] == "security,clients"
    assert out["sources"]["categories"] == "database"
    assert out["values"]["timeout_ms"] == 900
    assert out["sources"]["connect_timeout_ms"] == "default"


def test_the_database_is_not_queried_when_env_and_config_php_set_every_key(
    php: str, tmp_path: Path
) -> None:
    every_key = {
        "categories": "all",
        "opt_in_hooks": "none",
        "connect_timeout_ms": "300",
        "timeout_ms": "2000",
        "spool_max_bytes": "52428800",
        "max_event_bytes": "65536",
    }
    env = module_env(
        url="https://env.example", site_id="s1", secret="k1", spool_dir=tmp_path, **every_key
    )
    config_php = "<?php return ['max_buffer_events' => 500];"
    out = probe_config(php, tmp_path, env, config_php, {"site_id": "db-site"})
    assert out["db_queried"] is False
    assert out["values"]["site_id"] == "s1"


def test_timeouts_can_be_lowered_but_never_raised_past_the_limits(php: str, tmp_path: Path) -> None:
    env = module_env(
        url="https://x",
        site_id="s",
        secret="k",
        spool_dir=tmp_path,
        connect_timeout_ms="5000",
        timeout_ms="60000",
    )
    out = probe_config(php, tmp_path, env, None, {})
    assert out["values"]["connect_timeout_ms"] == 300
    assert out["values"]["timeout_ms"] == 2000


def test_every_shipped_hook_but_client_area_page_is_registered_by_default(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    hooks = {h["hook"] for h in json.loads((MODULE_DIR / "hooks.json").read_text())["hooks"]}
    run = run_harness(php, [], env_for(stub_collector, tmp_path), tmp_path)
    assert hooks - set(run.report["registered"]) == {"ClientAreaPage"}  # the one opt-in signal


def test_lists_in_config_php_may_be_php_arrays(php: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHMCS_MONITOR_")}
    config_php = (
        "<?php return ['collector_url' => 'https://file.example', 'site_id' => 's',"
        " 'secret' => 'k', 'categories' => array('security', 'clients'),"
        " 'opt_in_hooks' => array('ClientAreaPage'), 'timeout_ms' => array(900),"
        " 'spool_dir' => new stdClass()];"
    )
    out = probe_config(php, tmp_path, env, config_php, {"timeout_ms": "800"})

    assert out["values"]["categories"] == "security,clients"
    assert out["values"]["opt_in_hooks"] == "ClientAreaPage"
    assert out["values"]["timeout_ms"] == 800  # not a list setting: left to the next layer
    assert out["sources"]["spool_dir"] == "default"
