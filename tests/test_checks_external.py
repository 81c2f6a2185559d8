"""External dependencies (public APIs, mocked only through httpx.MockTransport) and RDAP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.lib.timeutil import utcnow

Handler = Callable[[httpx.Request], httpx.Response]


async def run(handler: Handler, **spec: Any) -> Result:
    check = parse_check({"name": "dep", "timeout": 2, **spec})
    return await check.probe(ProbeContext(utcnow(), transport=httpx.MockTransport(handler)))


async def test_a_preset_gateway_that_answers_401_is_reachable() -> None:
    seen: list[str] = []

    def stripe(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(401, json={"error": "no key"})

    result = await run(stripe, type="external", provider="stripe")
    assert result.status == "up"
    assert seen == ["https://api.stripe.com/v1/charges"]


async def test_a_preset_gateway_answering_5xx_is_down_as_a_gateway() -> None:
    result = await run(lambda r: httpx.Response(503), type="external", provider="paypal")
    assert result.status == "down"
    check = parse_check({"name": "dep", "type": "external", "provider": "paypal"})
    kind, labels = check.down_event() or ("", {})
    assert kind == "dependency.gateway_down"
    assert labels["gateway"] == "paypal"


async def test_a_user_url_with_an_expected_status_is_held_to_it() -> None:
    spec = {
        "type": "external",
        "role": "registrar",
        "service": "my-registrar",
        "url": "https://api.registrar.example/ping",
        "expect_status": [200],
    }
    assert (await run(lambda r: httpx.Response(200), **spec)).status == "up"
    assert (await run(lambda r: httpx.Response(401), **spec)).status == "down"
    check = parse_check({"name": "dep", **spec})
    assert check.down_event() == (
        "dependency.registrar_down",
        {"registrar": "my-registrar", "target": "https://api.registrar.example/ping"},
    )


@pytest.mark.parametrize(
    ("spec", "answer"),
    [
        ({"expect_status": [200]}, httpx.Response(404)),
        ({"keyword": "operational"}, httpx.Response(200, text="maintenance")),
        ({"json_conditions": ["$.ok == true"]}, httpx.Response(200, json={"ok": False})),
    ],
    ids=["expect_status", "keyword", "json_conditions"],
)
async def test_a_preset_keeps_the_users_own_conditions(
    spec: dict[str, Any], answer: httpx.Response
) -> None:
    """A preset used to turn on reachable_only, which passed any answer below 500."""
    result = await run(lambda r: answer, type="external", provider="stripe", **spec)
    assert result.status == "down"


def test_an_unknown_provider_is_refused_with_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"'stripey' is not a known provider \(known: authorize_net"
    ):
        parse_check({"name": "dep", "type": "external", "provider": "stripey"})


def rdap(days: float | None, date_format: str = "%Y-%m-%dT%H:%M:%SZ") -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/domain/example.com"
        events = [{"eventAction": "registration", "eventDate": "2001-01-01T00:00:00Z"}]
        if days is not None:
            date = (utcnow() + timedelta(days=days)).strftime(date_format)
            events.append({"eventAction": "expiration", "eventDate": date})
        return httpx.Response(200, json={"ldhName": "example.com", "events": events})

    return answer


async def test_rdap_reports_a_domain_expiring_within_the_warning_window() -> None:
    result = await run(rdap(10.5), type="rdap", domain="example.com")
    assert result.status == "degraded"
    [finding] = result.findings
    assert finding.kind == "domain.expiring"
    assert finding.data["days_left"] == 10
    assert finding.data["days_threshold"] == 14


async def test_rdap_with_plenty_of_time_left_is_up() -> None:
    result = await run(rdap(200), type="rdap", domain="example.com")
    assert result.status == "up"
    assert result.metrics["days_left"] > 199


async def test_an_expired_domain_is_down_and_says_how_long_ago() -> None:
    result = await run(rdap(-2.5), type="rdap", domain="example.com")
    assert result.status == "down"
    expired_on = f"{utcnow() - timedelta(days=2.5):%Y-%m-%d}"
    assert result.message == f"example.com expired 2 days ago ({expired_on})"
    [finding] = result.findings  # not domain.expiring, whose summary says "expires in"
    assert (finding.kind, finding.data["expirydate"]) == ("domain.expired", expired_on)


@pytest.mark.parametrize("date_format", ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"], ids=["no zone", "date"])
async def test_an_rdap_date_without_a_zone_is_read_as_utc(date_format: str) -> None:
    """A naive date used to crash the probe (TypeError: naive minus aware)."""
    result = await run(rdap(10.5, date_format), type="rdap", domain="example.com")
    assert result.status == "degraded"
    assert result.message.startswith("example.com expires in 10 days (")


async def test_an_rdap_answer_without_an_expiry_is_down_and_says_so() -> None:
    result = await run(rdap(None), type="rdap", domain="example.com")
    assert result.message == "the RDAP answer for example.com has no expiration date"
