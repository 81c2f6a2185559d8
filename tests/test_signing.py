"""Signing webhook bodies: ``sha256=`` HMAC over ``<timestamp>.<body>``."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from whmcs_monitor.lib.signing import sign, verify

SECRET = b"whsec_test"
TIMESTAMP = 1700000000
BODY = b'{"kind":"invoice.paid","vars":{"invoiceid":1042}}'


def test_it_matches_an_independently_computed_vector() -> None:
    expected = hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TIMESTAMP, BODY) == "sha256=" + expected


def test_it_matches_a_written_down_vector() -> None:
    # HMAC-SHA256(key=b"key", msg=b"1."), pinned so that any change to the scheme shows up here.
    expected = "sha256=53123bc365c2fe4bee48bc5cc6cd6c19699147d43513154ed34277c7c063e80f"
    assert sign(b"key", 1, b"") == expected


def test_it_signs_the_same_for_an_int_or_a_string_timestamp() -> None:
    assert sign(SECRET, TIMESTAMP, BODY) == sign(SECRET, "1700000000", BODY)


def test_it_verifies_its_own_signature() -> None:
    assert verify(SECRET, TIMESTAMP, BODY, sign(SECRET, TIMESTAMP, BODY))


@pytest.mark.parametrize(
    ("secret", "timestamp", "body"),
    [
        pytest.param(b"other", TIMESTAMP, BODY, id="another secret"),
        pytest.param(SECRET, TIMESTAMP + 1, BODY, id="another timestamp"),
        pytest.param(SECRET, TIMESTAMP, BODY + b" ", id="a changed body"),
    ],
)
def test_it_rejects_a_signature_for_other_inputs(
    secret: bytes, timestamp: int, body: bytes
) -> None:
    assert not verify(secret, timestamp, body, sign(SECRET, TIMESTAMP, BODY))


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(sign(SECRET, TIMESTAMP, BODY).removeprefix("sha256="), id="missing prefix"),
        pytest.param(sign(SECRET, TIMESTAMP, BODY).upper(), id="upper case"),
        pytest.param("sha256=" + sign(SECRET, TIMESTAMP, BODY)[7:].upper(), id="upper-case hex"),
        pytest.param("sha1=" + "0" * 40, id="another algorithm"),
        pytest.param("", id="empty"),
        pytest.param("sha256=", id="prefix only"),
        pytest.param("sha256=é" + "0" * 63, id="non-ASCII"),
        pytest.param(sign(SECRET, TIMESTAMP, BODY) + "00", id="too long"),
    ],
)
def test_it_rejects_a_malformed_signature_without_raising(signature: str) -> None:
    assert verify(SECRET, TIMESTAMP, BODY, signature) is False


@pytest.mark.parametrize("timestamp", ["", "17e8", " 1700000000", "-1", "\uff11\uff12"])
def test_it_refuses_to_sign_a_timestamp_that_is_not_whole_seconds(timestamp: str) -> None:
    with pytest.raises(ValueError, match="whole seconds since the epoch"):
        sign(SECRET, timestamp, BODY)


def test_it_refuses_a_bool_as_a_timestamp() -> None:
    with pytest.raises(TypeError, match="timestamp must be an int"):
        sign(SECRET, True, BODY)


def test_verify_returns_false_for_a_bad_timestamp() -> None:
    assert verify(SECRET, "not-a-time", BODY, sign(SECRET, TIMESTAMP, BODY)) is False


@given(st.binary(max_size=64), st.integers(0, 2**40), st.binary(max_size=512))
def test_every_signature_verifies_and_names_its_algorithm(
    secret: bytes, timestamp: int, body: bytes
) -> None:
    signature = sign(secret, timestamp, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(secret, timestamp, body, signature)
