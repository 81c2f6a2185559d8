"""HTTP(S) checks against a real local server, with certificates generated in the test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from checks_fixtures import Pki, Reply, json_reply, serve_http
from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.http import display_url
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.lib.timeutil import utcnow

ROUTES = {
    "/": Reply(200, "<h1>Welcome</h1> Order now"),
    "/json": json_reply({"status": "ok", "queue": {"pending": 3}, "items": [{"id": 7}]}),
    "/moved": Reply(302, "", {"Location": "/"}),
    "/loop": Reply(302, "", {"Location": "/loop"}),
    "/broken": Reply(503, "maintenance"),
    "/slow": Reply(200, "late", delay=0.3),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def plain() -> Iterator[str]:
    with serve_http(dict(ROUTES)) as server:
        yield server.url


async def probe(**spec: Any) -> Result:
    check = parse_check({"type": "http", "name": "web", "timeout": "2s", **spec})
    return await check.probe(ProbeContext(utcnow()))


async def test_a_page_that_answers_200_is_up_with_its_latency(plain: str) -> None:
    result = await probe(url=plain + "/")
    assert result.status == "up"
    assert result.latency_ms is not None and result.latency_ms > 0
    assert result.metrics["status_code"] == 200


async def test_a_5xx_answer_is_down_and_names_the_status(plain: str) -> None:
    result = await probe(url=plain + "/broken")
    assert result.status == "down"
    assert "HTTP 503" in result.message


async def test_an_expected_status_list_replaces_the_2xx_3xx_default(plain: str) -> None:
    assert (await probe(url=plain + "/broken", expect_status=[503])).status == "up"
    assert (await probe(url=plain + "/", expect_status=[204])).status == "down"


async def test_a_missing_keyword_is_down(plain: str) -> None:
    assert (await probe(url=plain + "/", keyword="Order")).status == "up"
    result = await probe(url=plain + "/", keyword="Checkout")
    assert result.status == "down"
    assert "'Checkout'" in result.message


async def test_a_forbidden_keyword_on_the_page_is_down(plain: str) -> None:
    result = await probe(url=plain + "/", keyword_absent="Welcome")
    assert result.status == "down"


async def test_a_regex_must_match_the_body(plain: str) -> None:
    assert (await probe(url=plain + "/", regex=r"<h1>\w+</h1>")).status == "up"
    assert (await probe(url=plain + "/", regex=r"^Error")).status == "down"


async def test_json_conditions_are_checked_against_the_answer(plain: str) -> None:
    good = await probe(
        url=plain + "/json",
        json_conditions=["$.status == ok", "$.queue.pending < 10", "$.items[0].id exists"],
    )
    assert good.status == "up"
    bad = await probe(url=plain + "/json", json_conditions=["$.queue.pending > 5"])
    assert bad.status == "down"
    assert bad.message == "$.queue.pending > 5: $.queue.pending is 3"


async def test_json_conditions_on_a_page_that_is_not_json_fail_plainly(plain: str) -> None:
    result = await probe(url=plain + "/", json_conditions=["$.status == ok"])
    assert result.message == "the answer is not JSON, so its conditions cannot hold"


async def test_redirects_are_followed_and_counted(plain: str) -> None:
    result = await probe(url=plain + "/moved", keyword="Welcome")
    assert result.status == "up"
    assert result.metrics["redirects"] == 1


async def test_a_redirect_loop_is_down_after_the_cap(plain: str) -> None:
    result = await probe(url=plain + "/loop", max_redirects=3)
    assert result.status == "down"
    assert result.message == "more than 3 redirects"


async def test_a_redirect_not_followed_still_counts_as_an_answer(plain: str) -> None:
    result = await probe(url=plain + "/moved", follow_redirects=False)
    assert result.status == "up"
    assert result.metrics["status_code"] == 302


async def test_custom_headers_are_sent() -> None:
    with serve_http({"/": Reply(200, "ok")}) as server:
        await probe(url=server.url + "/", headers={"X-Probe": "whmcs-monitor"})
        assert server.requests[-1]["headers"]["X-Probe"] == "whmcs-monitor"


async def test_an_answer_slower_than_degraded_ms_is_degraded(plain: str) -> None:
    result = await probe(url=plain + "/slow", degraded_ms=100)
    assert result.status == "degraded"
    assert result.message.startswith("slow: ")


async def test_no_answer_within_the_timeout_is_down(plain: str) -> None:
    start = time.monotonic()
    result = await probe(url=plain + "/slow", timeout=0.1)
    assert result.status == "down"
    assert "no answer within 0.1s" in result.message
    assert time.monotonic() - start < 1


async def test_tls_is_verified_by_default_so_a_self_signed_certificate_is_down(pki: Pki) -> None:
    files = pki.issue("self", self_signed=True)
    with serve_http({"/": Reply(200, "ok")}, tls=files) as server:
        result = await probe(url=server.url + "/")
    assert result.status == "down"
    assert result.message.startswith("TLS certificate rejected: self-signed certificate")


async def test_a_certificate_from_a_trusted_ca_file_passes(pki: Pki) -> None:
    files = pki.issue("good")
    with serve_http({"/": Reply(200, "ok")}, tls=files) as server:
        result = await probe(url=server.url + "/", ca_file=str(pki.ca_file))
    assert result.status == "up"


async def test_verification_can_be_turned_off_for_one_check(pki: Pki) -> None:
    files = pki.issue("self-off", self_signed=True)
    with serve_http({"/": Reply(200, "ok")}, tls=files) as server:
        result = await probe(url=server.url + "/", verify_tls=False)
    assert result.status == "up"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"url": "ftp://x.example/"}, "'ftp://x.example/' is not an http:// or https:// URL"),
        ({"url": "https://x/", "regex": "("}, "'(' is not a valid regular expression"),
        ({"url": "https://x/", "json_conditions": ["status == ok"]}, "is not a condition"),
        ({"url": "https://x/", "json_conditions": ["$.n > many"]}, "compares numbers"),
        ({"url": "https://x/", "expect_status": [99]}, "99 is not an HTTP status"),
        ({"url": "https://x/", "interval": "0s"}, "must be between 1s and 1d"),
        ({"url": "https://x/", "timeout": "soon"}, "is not a duration"),
        ({"url": "https://x/", "ca_file": "/nonexistent/ca.pem"}, "does not exist"),
    ],
    ids=[
        "scheme",
        "regex",
        "condition",
        "numeric-condition",
        "status",
        "interval",
        "duration",
        "ca-file",
    ],
)
def test_bad_http_settings_are_refused_with_a_reason(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_check({"type": "http", "name": "web", **spec})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://u:pw@api.example/v1?key=k&flag",
            "https://[redacted]@api.example/v1?key=[redacted]&flag",
        ),
        ("http://127.0.0.1:8080/cart.php?a=1#top", "http://127.0.0.1:8080/cart.php?a=[redacted]"),
        ("https://billing.example.com/", "https://billing.example.com/"),
    ],
    ids=["userinfo and query", "fragment dropped", "nothing to hide"],
)
def test_a_check_url_is_shown_without_its_credentials(url: str, shown: str) -> None:
    assert display_url(url) == shown
    assert parse_check({"type": "http", "name": "web", "url": url}).target == shown


async def test_a_failing_page_names_its_url_without_the_token(plain: str) -> None:
    result = await probe(url=plain + "/broken?token=hunter2-Token")
    assert result.status == "down"
    assert result.message == f"HTTP 503 from {plain}/broken?token=[redacted] (expected 2xx/3xx)"
