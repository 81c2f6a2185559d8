"""No seeded secret leaves the WHMCS host: not to the collector, the spool, or any log."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from php_support import (
    HARNESS_DIR,
    MODULE_DIR,
    StubCollector,
    all_files_text,
    module_env,
    run_harness,
    spool_events,
)
from scenarios import SECRETS, SHAPES, vars_for

from whmcs_monitor.events.redact import redact

SECRET_VALUES = [*SECRETS.values(), SECRETS["card_spaced"].replace(" ", "")]


def shipped_hooks() -> list[str]:
    return [h["hook"] for h in json.loads((MODULE_DIR / "hooks.json").read_text())["hooks"]]


def module_with_hooks(tmp_path: Path, hooks: list[dict[str, Any]]) -> Path:
    """A copy of the module whose hooks.json lists ``hooks`` (with the shipped redaction keys)."""
    target = tmp_path / "module"
    shutil.copytree(
        MODULE_DIR, target, ignore=shutil.ignore_patterns("config.php"), dirs_exist_ok=True
    )
    document = json.loads((MODULE_DIR / "hooks.json").read_text())
    document["hooks"] = hooks
    (target / "hooks.json").write_text(json.dumps(document))
    return target


def bare_entry(hook: str, **overrides: Any) -> dict[str, Any]:
    entry = {
        "hook": hook,
        "kind": "test." + hook.lower(),
        "category": "clients",
        "sensitive": [],
        "keep": {},
        "opt_in": False,
    }
    entry.update(overrides)
    return entry


def assert_no_secret(text: str, where: str) -> None:
    leaked = [s for s in SECRET_VALUES if s in text]
    assert not leaked, f"seeded secret(s) {leaked} found in {where}"


def test_no_seeded_secret_reaches_the_collector_with_the_shipped_catalog(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    hooks = shipped_hooks()
    calls = [{"hook": h, "vars": vars_for(h)} for h in hooks]
    env = module_env(
        url=stub_collector.url,
        site_id=stub_collector.site_id,
        secret=stub_collector.secret,
        spool_dir=tmp_path / "spool",
        opt_in_hooks="all",
    )
    run = run_harness(php, calls, env, tmp_path)

    assert {e["hook"] for e in stub_collector.events if "hook" in e} == set(hooks)
    assert_no_secret(json.dumps(stub_collector.events), "the collector")
    for request in stub_collector.requests:
        assert_no_secret(request["body"].decode(), "a request body")
    assert_no_secret(all_files_text(tmp_path / "spool"), "the spool directory")
    assert_no_secret(run.stdout + run.stderr + run.error_log, "php output or error log")


def test_generic_defenses_cover_hooks_the_catalog_has_no_rules_for(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    # Every shape, registered with no catalog rule at all: the generic keys, the default
    # `params` allow-list, object allow-lists and the card/PEM value scan must still hold.
    hooks = sorted({*SHAPES, "AfterModuleCreate", "AfterRegistrarRegistration", "SomeNewHook"})
    module = module_with_hooks(tmp_path, [bare_entry(h) for h in hooks])
    env = module_env(
        url=stub_collector.url,
        site_id=stub_collector.site_id,
        secret=stub_collector.secret,
        spool_dir=tmp_path / "spool",
    )
    run = run_harness(
        php, [{"hook": h, "vars": vars_for(h)} for h in hooks], env, tmp_path, module_dir=module
    )

    assert len(stub_collector.events) == len(hooks)
    assert_no_secret(json.dumps(stub_collector.events), "the collector")
    assert_no_secret(all_files_text(tmp_path / "spool"), "the spool directory")
    assert_no_secret(run.stdout + run.stderr + run.error_log, "php output or error log")


def test_secrets_go_to_the_spool_redacted_when_the_collector_is_down(
    php: str, tmp_path: Path
) -> None:
    hooks = sorted(SHAPES)
    module = module_with_hooks(tmp_path, [bare_entry(h) for h in hooks])
    env = module_env(
        url="http://127.0.0.1:9", site_id="s", secret="k", spool_dir=tmp_path / "spool"
    )
    run = run_harness(
        php, [{"hook": h, "vars": vars_for(h)} for h in hooks], env, tmp_path, module_dir=module
    )

    assert len(spool_events(tmp_path / "spool")) == len(hooks)
    assert_no_secret(all_files_text(tmp_path / "spool"), "the spool directory")
    assert_no_secret(run.stdout + run.stderr + run.error_log, "php output or error log")


def events_for(
    php: str, stub: StubCollector, tmp_path: Path, calls: list[dict[str, Any]], **settings: str
) -> dict[str, dict[str, Any]]:
    hooks = sorted({c["hook"] for c in calls})
    entries = [bare_entry(h) for h in hooks]
    for entry in entries:
        entry.update(json.loads(settings.pop("rules_" + entry["hook"], "{}")))
    module = module_with_hooks(tmp_path, entries)
    env = module_env(
        url=stub.url,
        site_id=stub.site_id,
        secret=stub.secret,
        spool_dir=tmp_path / "spool",
        **settings,
    )
    run_harness(php, calls, env, tmp_path, module_dir=module)
    return {e["hook"]: e for e in stub.events}


def test_redacted_fields_keep_their_key_with_a_marker(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    events = events_for(
        php,
        stub_collector,
        tmp_path,
        [
            {"hook": "ClientAdd", "vars": SHAPES["ClientAdd"]},
            {"hook": "CCUpdate", "vars": SHAPES["CCUpdate"]},
            {"hook": "TicketOpen", "vars": SHAPES["TicketOpen"]},
        ],
    )
    assert events["ClientAdd"]["vars"]["password"] == "[REDACTED]"
    assert events["ClientAdd"]["vars"]["email"] == "alice@example.com"
    assert events["CCUpdate"]["vars"]["cardnum"] == "[REDACTED]"
    assert events["CCUpdate"]["vars"]["cardtype"] == "[REDACTED]"  # "card" prefix
    message = events["TicketOpen"]["vars"]["message"]
    assert "[REDACTED:card]" in message
    assert "[REDACTED:private-key]" in message
    assert message.startswith("my card is ")


def test_objects_become_ids_and_safe_scalars(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    events = events_for(
        php,
        stub_collector,
        tmp_path,
        [
            {"hook": "InvoicePaid", "vars": SHAPES["InvoicePaid"]},
            {"hook": "UserLogin", "vars": SHAPES["UserLogin"]},
            {"hook": "AfterCalculateCartTotals", "vars": SHAPES["AfterCalculateCartTotals"]},
        ],
    )
    invoice = events["InvoicePaid"]["vars"]["invoice"]
    assert invoice == {
        "_class": "Invoice",
        "id": 1001,
        "userid": 7,
        "total": "25.00",
        "status": "Paid",
        "paymentmethod": "stripe",
    }
    user = events["UserLogin"]["vars"]["user"]
    assert user == {"_class": "User", "id": 12, "email": "alice@example.com"}
    assert events["AfterCalculateCartTotals"]["vars"]["total"] == {
        "_class": "Price",
        "amount": "19.99",
    }


def test_catalog_sensitive_paths_and_keep_lists_apply(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    events = events_for(
        php,
        stub_collector,
        tmp_path,
        [
            {
                "hook": "LogTransaction",
                "vars": {"gateway": "stripe", "data": {"raw": "x"}, "result": "ok"},
            },
            {"hook": "AfterModuleCreate", "vars": vars_for("AfterModuleCreate")},
        ],
        rules_LogTransaction=json.dumps({"sensitive": ["data"]}),
        rules_AfterModuleCreate=json.dumps({"keep": {"params": ["serviceid", "moduletype"]}}),
    )
    assert events["LogTransaction"]["vars"] == {
        "gateway": "stripe",
        "data": "[REDACTED]",
        "result": "ok",
    }
    assert events["AfterModuleCreate"]["vars"]["params"] == {
        "serviceid": 301,
        "moduletype": "cpanel",
    }


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        pytest.param("order 4111111111111111 ok", True, id="visa-plain"),
        pytest.param("4111-1111-1111-1111", True, id="visa-dashes"),
        pytest.param("amex 3782 822463 10005", True, id="amex-grouped"),
        pytest.param("card 4111 1111 1111 1111 12/25 cvv 123", True, id="expiry-after"),
        pytest.param("card: 5500 0055 5555 5559 123", True, id="cvv-after"),
        pytest.param("qty 2 4111111111111111", True, id="digit-before"),
        pytest.param("5500-0055-5555-5559 exp 0927", True, id="dashes-then-expiry"),
        pytest.param("ref 4111111111111112", False, id="not-luhn-valid"),
        pytest.param("phone +44 20 7946 0958", False, id="phone-number"),
        pytest.param("invoice 1001 total 25.00", False, id="short-numbers"),
    ],
)
def test_card_numbers_are_redacted_only_when_luhn_valid(
    php: str, stub_collector: StubCollector, tmp_path: Path, text: str, redacted: bool
) -> None:
    events = events_for(
        php, stub_collector, tmp_path, [{"hook": "TicketOpen", "vars": {"message": text}}]
    )
    message = events["TicketOpen"]["vars"]["message"]
    assert ("[REDACTED:card]" in message) is redacted
    if redacted:
        assert not any(card in message for card in ("1111 1111", "5555 5559", "111111111111"))
    else:
        assert message == text


def test_an_oversized_event_is_capped_but_keeps_its_ids(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    huge = {f"field{i}": "x" * 4000 for i in range(100)}
    events = events_for(
        php,
        stub_collector,
        tmp_path,
        [{"hook": "TicketOpen", "vars": {"ticketid": 9, "extra": huge}}],
        max_event_bytes="8192",
    )
    event = events["TicketOpen"]
    assert len(json.dumps(event)) <= 8192 + 200
    assert event["vars"]["_truncated"] is True
    assert event["vars"]["ticketid"] == 9


# Inputs on which the module (PHP, before anything leaves the WHMCS host) and the service
# (Python, before anything is stored) must redact alike: key spellings, card numbers written
# next to other digits or sent as JSON numbers, private keys.
PARITY_CASES = [
    pytest.param(
        {
            "smtp_password": "p1",
            "FTPBackupPassword": "p2",
            "client_secret": "p3",
            "totp_secret": "p4",
            "api-key": "p5",
            "X-Api-Key": "p6",
            "API_KEY": "p7",
            "Card-Holder": "p8",
            "password": None,
            "secret": "",
            "note": "fine",
            "invoiceid": 1042,
        },
        id="key-spellings",
    ),
    pytest.param(
        {"4111111111111111": "a card as a key", "card 4111 1111 1111 1111 exp": 1},
        id="cards-in-keys",
    ),
    pytest.param("card 4111 1111 1111 1111 12/25 cvv 123", id="expiry-after"),
    pytest.param("card: 5500 0055 5555 5559 123", id="cvv-after"),
    pytest.param("qty 2 4111111111111111", id="digit-before"),
    pytest.param("5500-0055-5555-5559 exp 0927", id="dashes-then-expiry"),
    pytest.param("amex 3782 822463 10005 and 4111-1111-1111-1111", id="two-groupings"),
    pytest.param("mixed 4111 1111-1111 1111", id="mixed-separators"),
    pytest.param("short groups 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", id="one-digit-groups"),
    pytest.param("ref 4111111111111112, phone +44 20 7946 0958, invoice 1001", id="no-card"),
    pytest.param("two 4111111111111111 5500005555555559 together", id="adjacent-cards"),
    pytest.param("thirty 411111111111111141111111111111114", id="too-long"),
    pytest.param(
        [4111111111111111, -4111111111111111, 4111111111111112, 5500005555555559.0, 42, 25.5],
        id="numbers",
    ),
    pytest.param([1234567890123, 1e12, 79927398713, 4111111111111111.5], id="other-numbers"),
    pytest.param(
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc\n-----END PGP PRIVATE KEY BLOCK----- after",
        id="pgp-block",
    ),
    pytest.param("x -----BEGIN PRIVATE KEY-----unterminated", id="unterminated-pem"),
]

PHP_MARKERS = ("[REDACTED:card]", "[REDACTED:private-key]", "[REDACTED]")


@pytest.mark.parametrize("case", PARITY_CASES)
def test_the_module_and_the_service_redact_alike(php: str, tmp_path: Path, case: Any) -> None:
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([case]))
    proc = subprocess.run(
        [php, str(HARNESS_DIR / "redact_probe.php"), str(MODULE_DIR), str(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stderr == ""
    text = proc.stdout
    for marker in PHP_MARKERS:  # the module's markers say what was removed; compare the rest
        text = text.replace(marker, "[redacted]")
    assert json.loads(text) == [redact(case)]


def test_secret_keys_are_found_in_any_spelling(
    php: str, stub_collector: StubCollector, tmp_path: Path
) -> None:
    settings = {"api-key": "HYPHEN-APIKEY-77", "X-Api-Key": "HDR-APIKEY-88"}
    settings |= {"smtp_password": "Smtp-Pw-1", "FTPBackupPassword": "Ftp-Pw-2"}
    settings |= {"client_secret": "Cli-Sec-3", "totp_secret": "Totp-Sec-4", "hostname": "h1"}
    events = events_for(
        php,
        stub_collector,
        tmp_path,
        [{"hook": "AddonConfigSave", "vars": {"module": "x", "settings": settings}}],
    )
    saved = events["AddonConfigSave"]["vars"]["settings"]
    assert saved == {key: "[REDACTED]" for key in settings} | {"hostname": "h1"}
