"""HTTP(S) checks: status, latency, a keyword or regex in the body, JSON conditions, redirects,
custom headers, and TLS verification on unless turned off."""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import Field, field_validator, model_validator

from whmcs_monitor.checks.base import CheckBase, ProbeContext, Result, ms_since
from whmcs_monitor.checks.conditions import parse_condition
from whmcs_monitor.events.redact import REDACTED

MAX_BODY_BYTES = 1024 * 1024  # enough for any page worth searching; bounds memory per probe
USER_AGENT = "whmcs-monitor-check/1"


class ProbeError(Exception):
    """A request that got no usable answer; the message says why in plain words."""


@functools.lru_cache(maxsize=32)
def ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """One context per trust setting, shared by all probes (building one costs milliseconds)."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file)


def parse_http_url(value: str, what: str) -> httpx.URL:
    """``value`` as an http(s) URL with a host, else a ``ValueError`` saying it is not ``what``.

    httpx's own ``InvalidURL`` is no ``ValueError``: raised from a validator it escaped pydantic
    as a traceback (``config check``) or a 500 (``POST /api/v1/checks``).
    """
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{value!r} is not {what}: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{value!r} is not {what}")
    return url


def display_url(url: str) -> str:
    """The URL as shown in targets, messages and labels: the user-info and every query value
    are masked, since check URLs carry basic-auth passwords and ``?api_key=`` tokens; the path
    stays, because it is what tells two checks of one site apart.

    ``https://u:pw@api.example/v1?key=k&x`` is shown as
    ``https://[redacted]@api.example/v1?key=[redacted]&x``.
    (``notify.errors.redact_url`` hides the whole path too: right for webhook URLs, whose path is
    the credential, too much for a page check.)
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{REDACTED}@{host}" if "@" in parts.netloc else host
    fields = (field.partition("=") for field in parts.query.split("&")) if parts.query else ()
    query = "&".join(f"{name}={REDACTED}" if sep else name for name, sep, _ in fields)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@dataclass(slots=True)
class Fetched:
    status: int
    url: str
    body: bytes
    elapsed_ms: float
    redirects: int


async def fetch(
    url: str,
    *,
    timeout: float,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    data: dict[str, str] | None = None,
    verify: bool = True,
    ca_file: Path | None = None,
    follow_redirects: bool = True,
    max_redirects: int = 5,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Fetched:
    """One request on a fresh connection (so latency includes connect and TLS, as a visitor's
    does), reading at most :data:`MAX_BODY_BYTES` of the body."""
    async with httpx.AsyncClient(
        verify=ssl_context(verify, str(ca_file) if ca_file else None),
        timeout=timeout,
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        transport=transport,
        headers={"User-Agent": USER_AGENT},
    ) as client:
        start = time.perf_counter()
        try:
            async with client.stream(
                method, url, headers=headers, content=content, data=data
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY_BYTES:
                        break
                elapsed = ms_since(start, time.perf_counter())
                return Fetched(
                    response.status_code,
                    str(response.url),
                    bytes(body),
                    elapsed,
                    len(response.history),
                )
        except httpx.TooManyRedirects as exc:
            raise ProbeError(f"more than {max_redirects} redirects") from exc
        except httpx.TimeoutException as exc:
            raise ProbeError(f"no answer within {timeout:g}s ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise ProbeError(_describe(exc)) from exc


def _describe(exc: httpx.HTTPError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate rejected: {cause.verify_message}"
        cause = cause.__cause__ or cause.__context__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def status_matches(status: int, expected: list[int]) -> bool:
    """Without a list, any 2xx or 3xx answer passes (a redirect not followed still answers)."""
    return status in expected if expected else 200 <= status < 400


class HttpSettings(CheckBase):
    """An HTTP probe's settings and logic, shared by the ``http`` and ``external`` types."""

    url: str
    method: Literal["GET", "HEAD", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expect_status: list[int] = Field(default_factory=list)
    follow_redirects: bool = True
    max_redirects: int = Field(default=5, ge=0, le=30)
    verify_tls: bool = True
    ca_file: Path | None = None
    keyword: str | None = None
    keyword_absent: str | None = None
    regex: str | None = None
    json_conditions: list[str] = Field(default_factory=list)
    degraded_ms: float | None = Field(default=None, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parse_http_url(value, "an http:// or https:// URL")
        return value

    @field_validator("regex")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from exc
        return value

    @field_validator("json_conditions")
    @classmethod
    def _valid_conditions(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_condition(text)
        return value

    @field_validator("expect_status")
    @classmethod
    def _valid_statuses(cls, value: list[int]) -> list[int]:
        for status in value:
            if not 100 <= status <= 599:
                raise ValueError(f"{status} is not an HTTP status (100-599)")
        return value

    @model_validator(mode="after")
    def _ca_file_exists(self) -> HttpSettings:
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file: {self.ca_file} does not exist")
        return self

    @property
    def target(self) -> str:
        return display_url(self.url)

    async def probe(self, ctx: ProbeContext) -> Result:
        try:
            got = await fetch(
                self.url,
                timeout=self.timeout.total_seconds(),
                method=self.method,
                headers=self.headers,
                content=self.body.encode() if self.body is not None else None,
                verify=self.verify_tls,
                ca_file=self.ca_file,
                follow_redirects=self.follow_redirects,
                max_redirects=self.max_redirects,
                transport=ctx.transport,
            )
        except ProbeError as exc:
            return Result("down", str(exc))
        metrics = {"status_code": float(got.status), "redirects": float(got.redirects)}
        problem = self.judge(got)
        if problem:
            return Result("down", problem, got.elapsed_ms, metrics)
        if self.degraded_ms is not None and got.elapsed_ms > self.degraded_ms:
            message = f"slow: {got.elapsed_ms:.0f} ms (over {self.degraded_ms:g} ms)"
            return Result("degraded", message, got.elapsed_ms, metrics)
        return Result(
            "up", f"HTTP {got.status} in {got.elapsed_ms:.0f} ms", got.elapsed_ms, metrics
        )

    def judge(self, got: Fetched) -> str | None:
        """Why the answer fails the check, or ``None`` when it passes."""
        if not status_matches(got.status, self.expect_status):
            wanted = ", ".join(map(str, self.expect_status)) or "2xx/3xx"
            return f"HTTP {got.status} from {display_url(got.url)} (expected {wanted})"
        text = got.body.decode("utf-8", errors="replace")
        if self.keyword is not None and self.keyword not in text:
            return f"the page does not contain {self.keyword!r}"
        if self.keyword_absent is not None and self.keyword_absent in text:
            return f"the page contains {self.keyword_absent!r}"
        if self.regex is not None and not re.search(self.regex, text):
            return f"the page does not match /{self.regex}/"
        if self.json_conditions:
            try:
                document = json.loads(text)
            except ValueError:
                return "the answer is not JSON, so its conditions cannot hold"
            for text_condition in self.json_conditions:
                failed = parse_condition(text_condition).evaluate(document)
                if failed:
                    return failed
        return None


class HttpCheck(HttpSettings):
    type: Literal["http"] = "http"
