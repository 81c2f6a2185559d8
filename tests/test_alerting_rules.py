"""Rule files: validation messages that name the rule and field, the default pack, and reloads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from whmcs_monitor.alerting.rules import RuleLoader, default_pack_text, parse_rules
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.errors import ConfigError

DATA = Path(__file__).parent / "data"


def _items(name: str) -> list[str]:
    lines = (DATA / name).read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_rules(text, source="rules.yaml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("case", "text", "message"),
    [
        (
            "bad duration",
            "rules: [{name: gw, type: count, match: {kinds: [gateway.failure]}, count: {threshold: 5, window: 10 minutes}}]",
            "rule \"gw\": count.window: '10 minutes' is not a duration: use a number and a unit, like 90s, 10m, 6h or 7d",
        ),
        (
            "duration past what a timedelta holds",
            "rules: [{name: gw, match: {kinds: [gateway.failure]}, resolve_after: 999999999w}]",
            "rule \"gw\": resolve_after: '999999999w' is not a duration: it is too long (at most 999999999d)",
        ),
        (
            "negative window",
            "rules: [{name: gw, type: count, match: {kinds: [gateway.failure]}, count: {threshold: 5, window: -600}}]",
            'rule "gw": count.window: -600 is negative; give a duration like 10m',
        ),
        (
            "empty window",
            "rules: [{name: gw, type: count, match: {kinds: [gateway.failure]}, count: {threshold: 5, window: 0s}}]",
            'rule "gw": count.window: must be longer than 0s, like 10m',
        ),
        (
            "zero absence",
            "rules: [{name: quiet, type: absence, match: {kinds: [invoice.paid]}, absence: {for: 0}}]",
            'rule "quiet": absence.for: must be longer than 0s, like 10m',
        ),
        (
            "negative resolve_after",
            "rules: [{name: gw, match: {kinds: [gateway.failure]}, resolve_after: -60}]",
            'rule "gw": resolve_after: -60 is negative; give a duration like 10m',
        ),
        (
            "zero rate window",
            "rules: [{name: disk, type: metric, severity: warning, metric: {name: host.disk_used_percent, op: gt, threshold: 5, rate_over: 0s}}]",
            'rule "disk": metric.rate_over: must be longer than 0s, like 10m',
        ),
        (
            "unknown kind with a hint",
            "rules: [{name: paid, match: {kinds: [InvoicePaid]}}]",
            "rule \"paid\": match.kinds: unknown kind 'InvoicePaid'; did you mean invoice.paid?",
        ),
        (
            "unknown kind without a hint",
            "rules: [{name: x, match: {kinds: [invoice.payed]}}]",
            "rule \"x\": match.kinds: unknown kind 'invoice.payed' (see `whmcs-monitor catalog`)",
        ),
        (
            "missing type section",
            "rules: [{name: quiet, type: absence, match: {kinds: [invoice.paid]}}]",
            'rule "quiet": absence: a absence rule needs a absence section',
        ),
        (
            "unknown field",
            "rules: [{name: typo, match: {kinds: [invoice.paid]}, severty: critical}]",
            'rule "typo": severty: is not a known setting (check the spelling)',
        ),
        (
            "bad severity",
            "rules: [{name: sev, match: {kinds: [invoice.paid]}, severity: urgent}]",
            "rule \"sev\": severity: must be one of 'debug', 'info', 'warning', 'error' or 'critical'",
        ),
        (
            "match without kinds",
            "rules: [{name: wide, match: {severities: [error]}}]",
            'rule "wide": match.kinds: give kinds or categories, so the rule cannot match everything',
        ),
        (
            "bad regex",
            "rules: [{name: re, match: {kinds: [file.added], where: [{field: labels.path, op: regex, value: '('}]}}]",
            'rule "re": match.where[0].value: the regular expression is invalid (missing ), unterminated subpattern at position 0)',
        ),
        (
            "absence rule with group_by",
            "rules: [{name: quiet, type: absence, match: {kinds: [invoice.paid]}, absence: {for: 1h}, group_by: [gateway]}]",
            'rule "quiet": group_by: an absence rule watches each site as a whole and cannot group;'
            " write one rule per value instead, narrowed with match.where",
        ),
        (
            "unnamed rule",
            "rules: [{match: {kinds: [invoice.paid]}}]",
            'rule "#1": name: is required',
        ),
    ],
)
def test_rule_errors_name_the_rule_and_the_field(case: str, text: str, message: str) -> None:
    assert _problems(text) == [message], case


def test_a_rule_file_that_is_not_yaml_names_the_line() -> None:
    assert _problems("rules: [\n  {name: x\n") == [
        "line 3, column 1: not valid YAML: expected ',' or '}', but got '<stream end>'"
    ]


def test_a_key_given_twice_in_a_rule_is_refused_not_overwritten() -> None:
    text = "rules:\n  - name: a\n    match: {kinds: [invoice.paid]}\n    name: b\n"
    (problem,) = _problems(text)
    assert problem.startswith("line 4, column 5: not valid YAML: the key 'name' is given twice")


def test_every_default_rule_kind_exists_in_the_catalog() -> None:
    catalog = load_catalog()
    rules = parse_rules(default_pack_text(), source="default_rules.yaml")
    known = {entry.kind for entry in catalog.events}
    used = set().union(*(rule.all_kinds() for rule in rules))
    assert used and used <= known


def test_the_default_pack_covers_every_item_of_the_seed_audit() -> None:
    rules = parse_rules(default_pack_text(), source="default_rules.yaml")
    covered = {item for rule in rules for item in rule.covers}
    assert sorted(set(_items("seed_audit_items.txt")) - covered) == []


def test_a_covered_hook_name_resolves_to_a_kind_its_rule_matches() -> None:
    """Covering ``AdminLoginFailed`` means matching a kind the catalog resolves that name to."""
    catalog = load_catalog()
    rules = parse_rules(default_pack_text(), source="default_rules.yaml")
    for rule in rules:
        for item in rule.covers:
            resolved = {k.kind for k in catalog.resolve(item)}
            if resolved:
                assert resolved & rule.all_kinds(), (
                    f"{rule.name} covers {item} but matches none of {resolved}"
                )


def test_critical_audit_signals_fire_critical_alerts() -> None:
    rules = {r.name: r for r in parse_rules(default_pack_text(), source="default_rules.yaml")}
    for name in (
        "domain-registration-failed",
        "domain-renewal-failed",
        "admin-login-brute-force",
        "gateway-failures",
        "cron-not-running",
    ):
        assert rules[name].severity == "critical"


def test_an_edited_rule_file_is_reloaded_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules: [{name: refunds, match: {kinds: [invoice.refunded]}}]")
    loader = RuleLoader([path], defaults=False)
    assert [r.name for r in loader.load().rules] == ["refunds"]
    path.write_text("rules: [{name: refunds-v2, match: {kinds: [invoice.refunded]}}]")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert [r.name for r in loader.load().rules] == ["refunds-v2"]


def test_a_user_rule_replaces_the_default_rule_of_the_same_name(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules: [{name: no-payments, enabled: false, match: {kinds: [invoice.paid]}}]")
    rules = RuleLoader([path]).load()
    assert rules.get("no-payments") is None
    assert rules.get("gateway-failures") is not None
