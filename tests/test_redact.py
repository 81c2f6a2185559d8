"""Redaction of hook payloads: example tests per rule, then properties over random payloads."""

from __future__ import annotations

import copy
import json
import re
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.events.redact import (
    REDACTED,
    TOO_DEEP,
    RedactionRules,
    default_rules,
    redact,
    redact_text,
)

CATALOG_KEYS = load_catalog().redaction.keys
CATALOG_PREFIXES = load_catalog().redaction.key_prefixes
VISA = "4111111111111111"
AMEX = "378282246310005"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check (computed independently)."""
    total = 0
    for i, char in enumerate(reversed(payload)):
        d = int(char) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return str((10 - total % 10) % 10)


def test_the_luhn_helper_agrees_with_known_test_cards() -> None:
    assert luhn_check_digit(VISA[:-1]) == VISA[-1]
    assert luhn_check_digit(AMEX[:-1]) == AMEX[-1]


# --- by key -----------------------------------------------------------------------------------


def test_it_redacts_a_catalog_key_at_the_top_level() -> None:
    assert redact({"password": "hunter2", "userid": 7}) == {"password": REDACTED, "userid": 7}


def test_it_redacts_a_catalog_key_at_any_depth() -> None:
    payload = {"params": {"clientsdetails": [{"email": "a@b.c", "securityqans": "rex"}]}}
    assert redact(payload) == {
        "params": {"clientsdetails": [{"email": "a@b.c", "securityqans": REDACTED}]}
    }


def test_it_matches_keys_whatever_their_case() -> None:
    assert redact({"ServerPassword": "x", "EPPCODE": "y"}) == {
        "ServerPassword": REDACTED,
        "EPPCODE": REDACTED,
    }


def test_it_reads_a_dash_in_a_key_as_an_underscore() -> None:
    assert redact({"API-Key": "abc", "second-factor": "totp"}) == {
        "API-Key": REDACTED,
        "second-factor": REDACTED,
    }


def test_it_redacts_keys_starting_with_a_catalog_prefix() -> None:
    result = redact({"cardnumber_last": "1", "bankacct2": "2", "token_expires": "3", "tld": "com"})
    assert result == {
        "cardnumber_last": REDACTED,
        "bankacct2": REDACTED,
        "token_expires": REDACTED,
        "tld": "com",
    }


def test_it_keeps_the_email_cc_field_and_private_notes() -> None:
    payload = {"cc": "billing@example.com", "cctype": "Visa", "privatenotes": "VIP client"}
    assert redact(payload) == payload


def test_it_replaces_a_sensitive_keys_value_whatever_its_type() -> None:
    payload = {"authdata": {"totp": "123456"}, "cvv": 123, "secret": ["a", "b"], "hash": None}
    assert redact(payload) == dict.fromkeys(payload, REDACTED)


@pytest.mark.parametrize(
    "key",
    [
        "smtp_password",
        "FTPBackupPassword",
        "client_secret",
        "access_token",
        "totp_secret",
        "epp_code",
        "cc_cvv",
        "cvv2",
        "Two-Factor-Config",
        "api-key",
    ],
)
def test_a_key_that_contains_a_secret_word_is_redacted(key: str) -> None:
    assert redact({"settings": {key: "s3cr3t-value"}}) == {"settings": {key: REDACTED}}


def test_words_that_only_resemble_a_secret_word_are_kept() -> None:
    payload = {"userpass_hint": "dog", "bypass_cache": "yes", "passport_country": "GB"}
    assert redact(payload) == payload


def test_it_takes_its_key_list_from_the_catalog() -> None:
    rules = RedactionRules.from_catalog(load_catalog())
    assert rules == default_rules()
    assert rules.keys == {k.lower() for k in CATALOG_KEYS}
    assert all(rules.is_sensitive_key(key) for key in CATALOG_KEYS)


def test_it_uses_rules_passed_to_it() -> None:
    rules = RedactionRules(keys=frozenset({"pin"}), key_prefixes=())
    assert redact({"pin": "1234", "password": "x"}, rules=rules) == {
        "pin": REDACTED,
        "password": "x",
    }


# --- by path ----------------------------------------------------------------------------------


def test_it_redacts_a_sensitive_path() -> None:
    payload = {"params": {"username": "bob", "configoption1": "s3cret"}, "configoption1": "plan"}
    result = redact(payload, sensitive_paths=["params.configoption1"])
    assert result == {
        "params": {"username": "bob", "configoption1": REDACTED},
        "configoption1": "plan",
    }


def test_it_replaces_a_whole_structure_named_by_a_path() -> None:
    payload = {"messagename": "Invoice Created", "mergefields": {"client_name": "Ann", "n": [1]}}
    result = redact(payload, sensitive_paths=["mergefields"])
    assert result == {"messagename": "Invoice Created", "mergefields": REDACTED}


def test_it_follows_paths_through_lists() -> None:
    payload = {"items": [{"data": "raw", "id": 1}, {"data": "raw", "id": 2}]}
    result = redact(payload, sensitive_paths=["items.data"])
    assert result == {"items": [{"data": REDACTED, "id": 1}, {"data": REDACTED, "id": 2}]}


def test_it_rejects_an_empty_path_segment() -> None:
    with pytest.raises(ValueError, match="is not a path"):
        redact({}, sensitive_paths=["params..password"])


def test_it_rejects_a_single_string_as_the_path_list() -> None:
    with pytest.raises(TypeError, match="not one string"):
        redact({}, sensitive_paths="mergefields")


# --- keep -------------------------------------------------------------------------------------


def test_it_keeps_only_the_allow_listed_keys_of_a_mapping() -> None:
    entry = load_catalog().get("registrar.registration_failed")
    payload = {
        "params": {
            "domainid": 9,
            "userid": 3,
            "sld": "example",
            "tld": "com",
            "regperiod": 1,
            "registrar": "enom",
            "Username": "reseller",
            "ApiToken": "tok",
            "ns1": "ns1.example.com",
        },
        "error": "Insufficient funds",
    }
    result = redact(payload, sensitive_paths=entry.sensitive, keep=entry.keep)
    assert result == {
        "params": {
            "domainid": 9,
            "userid": 3,
            "sld": "example",
            "tld": "com",
            "regperiod": 1,
            "registrar": "enom",
        },
        "error": "Insufficient funds",
    }


def test_it_still_redacts_a_sensitive_key_that_is_kept() -> None:
    result = redact({"params": {"password": "x", "sld": "a"}}, keep={"params": ["password", "sld"]})
    assert result == {"params": {"password": REDACTED, "sld": "a"}}


def test_it_redacts_a_kept_path_that_is_not_a_mapping() -> None:
    assert redact({"params": "serialized blob"}, keep={"params": ["sld"]}) == {"params": REDACTED}


# --- by value ---------------------------------------------------------------------------------


def test_it_redacts_a_card_number_written_without_spaces() -> None:
    assert redact_text(f"paid with {VISA} today") == f"paid with {REDACTED} today"


def test_it_redacts_a_card_number_written_with_spaces() -> None:
    assert redact_text("card: 4111 1111 1111 1111.") == f"card: {REDACTED}."


def test_it_redacts_a_card_number_written_with_dashes() -> None:
    assert redact_text("card 4111-1111-1111-1111 ok") == f"card {REDACTED} ok"


def test_it_redacts_an_amex_number_in_its_four_six_five_grouping() -> None:
    assert redact_text("amex 3782 822463 10005") == f"amex {REDACTED}"


def test_it_redacts_a_card_number_glued_to_letters() -> None:
    assert redact_text(f"cc={VISA}&cvv=1") == f"cc={REDACTED}&cvv=1"


def test_it_redacts_a_card_number_next_to_other_numbers() -> None:
    assert redact_text(f"invoice 1042 card {VISA}") == f"invoice 1042 card {REDACTED}"


def test_it_redacts_every_card_in_a_string() -> None:
    assert redact_text(f"{VISA} and {AMEX}") == f"{REDACTED} and {REDACTED}"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Invoice #2024000117 paid", id="invoice number"),
        pytest.param("Order 1234567890123 placed", id="13-digit order number, not Luhn-valid"),
        pytest.param("call +44 20 7946 0958 or 0800 123 4567", id="phone numbers"),
        pytest.param("at 1700000000123", id="millisecond timestamp, not Luhn-valid"),
        pytest.param("4111111111111112", id="card-shaped but failing the Luhn check"),
        pytest.param(
            "call 0800-555-0199 2024 03 08",
            id="a phone number then a date, Luhn-valid only if read across both separators",
        ),
        pytest.param("41111111111111111111111", id="a run longer than 19 digits"),
        pytest.param("411111111111", id="a run shorter than 13 digits"),
        pytest.param("\u0664" + "\u0661" * 15, id="non-ASCII digits"),
    ],
)
def test_it_keeps_numbers_that_are_not_card_numbers(text: str) -> None:
    assert redact_text(text) == text


def test_it_keeps_invoice_numbers() -> None:
    payload = {"invoiceid": 1042, "invoicenum": "INV-2024-000117", "total": "19.99"}
    assert redact(payload) == payload


def test_it_redacts_a_card_number_in_a_list_item() -> None:
    assert redact(["a", f"n {VISA}"]) == ["a", f"n {REDACTED}"]


def test_it_redacts_a_card_number_in_a_dict_key() -> None:
    assert redact({VISA: "x"}) == {REDACTED: "x"}


def test_it_redacts_card_numbers_sent_as_json_numbers() -> None:
    payload = {"n": int(VISA), "items": [int(AMEX)], "f": float(VISA)}
    assert redact(payload) == {"n": REDACTED, "items": [REDACTED], "f": REDACTED}


def test_it_keeps_numbers_that_cannot_be_card_numbers() -> None:
    payload = {"id": 1042, "ms": 1700000000123, "long": 4111111111111112, "amount": 12.5}
    assert redact(payload) == payload


@pytest.mark.parametrize("label", ["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA "])
def test_it_redacts_a_pem_private_key_block(label: str) -> None:
    block = (
        f"-----BEGIN {label}PRIVATE KEY-----\nMIIBVgIBADANBgkq\n-----END {label}PRIVATE KEY-----"
    )
    assert redact_text(f"key:\n{block}\nthanks") == f"key:\n{REDACTED}\nthanks"


def test_it_redacts_a_truncated_pem_private_key_to_the_end() -> None:
    assert redact_text("dump -----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBg") == f"dump {REDACTED}"


def test_it_keeps_a_certificate() -> None:
    cert = "-----BEGIN CERTIFICATE-----\nMIIBVgIBADANBgkq\n-----END CERTIFICATE-----"
    assert redact_text(cert) == cert


def test_it_redacts_two_keys_separately() -> None:
    assert redact_text(f"{PEM} middle {PEM}") == f"{REDACTED} middle {REDACTED}"


# --- shape and bounds -------------------------------------------------------------------------


def test_it_does_not_mutate_its_input() -> None:
    payload = {"password": "x", "params": {"note": VISA, "list": [VISA]}}
    before = copy.deepcopy(payload)
    redact(payload, sensitive_paths=["params.list"], keep={"params": ["note"]})
    assert payload == before


def test_it_returns_a_copy_that_shares_no_containers() -> None:
    payload: dict[str, Any] = {"a": {"b": [1, 2]}}
    result = redact(payload)
    result["a"]["b"].append(3)
    assert payload == {"a": {"b": [1, 2]}}


def test_it_keeps_tuples_as_tuples() -> None:
    assert redact(("a", VISA)) == ("a", REDACTED)


def test_it_cuts_off_values_nested_too_deep() -> None:
    payload: Any = "leaf"
    for _ in range(100):
        payload = [payload]
    result = redact(payload)
    for _ in range(64):
        result = result[0]
    assert result == [TOO_DEEP]


def test_it_survives_a_hostile_nesting_depth() -> None:
    payload: Any = {}
    for _ in range(100_000):
        payload = {"a": payload}
    assert TOO_DEEP in json.dumps(redact(payload))


def test_it_survives_a_self_referencing_structure() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert TOO_DEEP in repr(redact(loop))


def test_it_rejects_an_unbounded_depth() -> None:
    with pytest.raises(ValueError, match="max_depth must be between"):
        redact({}, max_depth=10_000)


# --- properties -------------------------------------------------------------------------------

RULES = default_rules()
# Plain text never holds a seeded secret: secrets use upper case, plain text does not.
PLAIN_ALPHABET = string.ascii_lowercase + string.digits + " .,:/#_-"
CANDIDATE_RUN = re.compile(r"[0-9](?:[ -]?[0-9]){12}")

plain_text = st.text(PLAIN_ALPHABET, max_size=24).filter(lambda s: not CANDIDATE_RUN.search(s))
plain_keys = plain_text.filter(lambda k: not RULES.is_sensitive_key(k))
# Integers stay below 13 digits: a longer one could contain a seeded card number as a substring
# of its JSON text without holding a secret (numbers are not scanned; see the test above).
scalars = st.none() | st.booleans() | st.integers(-(10**12) + 1, 10**12 - 1) | plain_text
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(plain_keys, children, max_size=4)
    ),
    max_leaves=25,
)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid number of 13-19 digits, written plain, in fours with spaces, or with dashes."""
    length = draw(st.integers(13, 19))
    payload = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    digits = payload + luhn_check_digit(payload)
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


@st.composite
def pem_keys(draw: st.DrawFn) -> str:
    label = draw(st.sampled_from(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA "]))
    base64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
    body = draw(st.lists(st.text(base64, min_size=16, max_size=64), min_size=1, max_size=4))
    lines = [f"-----BEGIN {label}PRIVATE KEY-----", *body, f"-----END {label}PRIVATE KEY-----"]
    return "\n".join(lines)


def in_text(secrets: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A secret embedded in random text, set off from it by a non-digit boundary."""
    boundaries = st.sampled_from([" ", ": ", "\n", "#", "=", " (", ") "])
    return st.tuples(plain_text, boundaries, secrets, boundaries, plain_text).map("".join)


@st.composite
def sensitive_keys(draw: st.DrawFn) -> str:
    """A catalog key or prefix (plus a suffix), in random case, sometimes with dashes."""
    key = draw(
        st.sampled_from(CATALOG_KEYS)
        | st.tuples(st.sampled_from(CATALOG_PREFIXES), plain_text).map("".join)
    )
    key = "".join(c.upper() if draw(st.booleans()) else c for c in key)
    return key.replace("_", "-") if draw(st.booleans()) else key


key_secrets = st.text(string.ascii_uppercase, min_size=8, max_size=16).map(lambda s: f"SECRET{s}")


def seed(draw: st.DrawFn, tree: Any, secret: Any, *, as_key: str | None = None) -> Any:
    """``tree`` with ``secret`` put somewhere in it (under ``as_key`` if given)."""
    if isinstance(tree, dict) and tree and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(tree)))
        return {**tree, key: seed(draw, tree[key], secret, as_key=as_key)}
    if isinstance(tree, list) and tree and draw(st.booleans()):
        i = draw(st.integers(0, len(tree) - 1))
        return [*tree[:i], seed(draw, tree[i], secret, as_key=as_key), *tree[i + 1 :]]
    if as_key is not None:
        base = tree if isinstance(tree, dict) else {"v": tree}
        return {**base, as_key: secret}
    if isinstance(tree, dict) and draw(st.booleans()):
        return {**tree, secret: draw(scalars)}  # the secret as a dict key
    if isinstance(tree, list):
        return [*tree, secret]
    return {"v": tree, "note": secret}


@st.composite
def payloads_with_secrets(draw: st.DrawFn) -> tuple[Any, list[str]]:
    tree = draw(json_like)
    leaked: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["key", "card", "pem"]))
        if kind == "key":
            secret = draw(key_secrets)
            value = draw(st.sampled_from([secret, [secret], {"inner": secret}, f"x {secret} y"]))
            tree = seed(draw, tree, value, as_key=draw(sensitive_keys()))
        else:
            secret = draw(card_numbers() if kind == "card" else pem_keys())
            tree = seed(draw, tree, draw(in_text(st.just(secret))))
        leaked.append(secret)
    return tree, leaked


def appears_in(secret: str, dumped: str) -> bool:
    return json.dumps(secret)[1:-1] in dumped


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(payloads_with_secrets())
def test_no_seeded_secret_survives(case: tuple[Any, list[str]]) -> None:
    payload, secrets = case
    dumped = json.dumps(redact(payload))
    for secret in secrets:
        assert not appears_in(secret, dumped), secret
        digits = secret.replace(" ", "").replace("-", "")
        if digits.isdigit():
            assert digits not in dumped.replace(" ", "").replace("-", ""), secret


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(payloads_with_secrets())
def test_redaction_is_idempotent(case: tuple[Any, list[str]]) -> None:
    once = redact(case[0])
    assert redact(once) == once


@settings(max_examples=300)
@given(json_like)
def test_a_payload_without_secrets_comes_back_equal(payload: Any) -> None:
    before = copy.deepcopy(payload)
    assert redact(payload) == payload
    assert payload == before


@given(json_like, st.lists(st.sampled_from(["a", "b", "a.b", "b.a"]), max_size=3))
def test_redaction_with_paths_is_idempotent(payload: Any, paths: list[str]) -> None:
    once = redact(payload, sensitive_paths=paths, keep={"c": ["a", "b"]})
    assert redact(once, sensitive_paths=paths, keep={"c": ["a", "b"]}) == once
