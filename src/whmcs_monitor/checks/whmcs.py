"""WHMCS-aware probes: the response times of the homepage, the cart, the client-area login and
the admin login, each measured on its own; the license text on the admin login page; and the
System Health items from the GetHealthStatus API call."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from whmcs_monitor.checks.base import CheckBase, Finding, ProbeContext, Result
from whmcs_monitor.checks.http import Fetched, ProbeError, display_url, fetch, parse_http_url

# WHMCS shows these on the admin login page when its license check fails (KB 238); both
# spellings of "licence" occur. The client area keeps working, so nothing else shows it.
LICENSE_PROBLEM = re.compile(r"Licen[cs]e\s+(Invalid|Suspended|Expired)", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
MAX_HEALTH_BODY = 300


def _pages(admin_path: str) -> dict[str, str]:
    return {
        "homepage": "",
        "cart": "cart.php",
        "client_login": "login.php",
        "admin_login": f"{admin_path.strip('/')}/login.php",
    }


def api_endpoint(url: str) -> str:
    """``sites[].api.url`` may be the WHMCS root or the api.php URL itself."""
    return url if url.rstrip("/").endswith(".php") else f"{url.rstrip('/')}/includes/api.php"


class WhmcsCheck(CheckBase):
    type: Literal["whmcs"] = "whmcs"
    url: str
    admin_path: str = "admin"
    degraded_ms: float = Field(default=3000, gt=0)
    verify_tls: bool = True
    ca_file: Path | None = None
    # Filled from sites[<site>].api when left out; needed only for GetHealthStatus.
    api_url: str | None = None
    api_identifier: str | None = None
    api_secret: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parse_http_url(value, "the http(s):// address of a WHMCS installation")
        return value.rstrip("/") + "/"

    @property
    def target(self) -> str:
        return display_url(self.url)

    async def _get(self, path: str, ctx: ProbeContext) -> Fetched:
        return await fetch(
            self.url + path,
            timeout=self.timeout.total_seconds(),
            verify=self.verify_tls,
            ca_file=self.ca_file,
            transport=ctx.transport,
        )

    async def probe(self, ctx: ProbeContext) -> Result:
        pages = _pages(self.admin_path)
        answers = await asyncio.gather(
            *(self._get(path, ctx) for path in pages.values()), return_exceptions=True
        )
        metrics: dict[str, float] = {}
        failed: list[str] = []
        slow: list[str] = []
        findings: list[Finding] = []
        for page, got in zip(pages, answers, strict=True):
            if isinstance(got, ProbeError):
                failed.append(f"{page}: {got}")
                continue
            if isinstance(got, BaseException):
                raise got
            metrics[f"page_ms:{page}"] = got.elapsed_ms
            if got.status >= 400:
                failed.append(f"{page}: HTTP {got.status}")
            elif got.elapsed_ms > self.degraded_ms:
                slow.append(f"{page} {got.elapsed_ms:.0f} ms")
            if page == "admin_login":
                findings += self._license(got, ctx)
        findings += await self._health(ctx)
        latency = max(metrics.values(), default=None)
        if failed:
            return Result("down", "; ".join(failed), latency, metrics, findings)
        license_bad = [f for f in findings if f.kind == "system.license_invalid"]
        if license_bad:
            message = f"admin login page shows {license_bad[0].data['state']!r}"
            return Result("down", message, latency, metrics, findings)
        if slow:
            return Result("degraded", "slow: " + ", ".join(slow), latency, metrics, findings)
        times = ", ".join(f"{p} {metrics[f'page_ms:{p}']:.0f} ms" for p in pages)
        return Result("up", times, latency, metrics, findings)

    def _license(self, got: Fetched, ctx: ProbeContext) -> list[Finding]:
        match = LICENSE_PROBLEM.search(got.body.decode("utf-8", errors="replace"))
        if not match:
            return []
        state = match.group(0)
        data = {"state": state, "url": display_url(got.url)}
        return [Finding("system.license_invalid", f"{state.lower()}:{ctx.now:%Y%m%d}", data)]

    async def _health(self, ctx: ProbeContext) -> list[Finding]:
        """GetHealthStatus danger and warning items, one event per item per day."""
        if not (self.api_url and self.api_identifier and self.api_secret):
            return []
        form = {
            "action": "GetHealthStatus",
            "identifier": self.api_identifier,
            "secret": self.api_secret.get_secret_value(),
            "responsetype": "json",
        }
        try:
            got = await fetch(
                api_endpoint(self.api_url),
                method="POST",
                timeout=self.timeout.total_seconds(),
                data=form,
                verify=self.verify_tls,
                ca_file=self.ca_file,
                transport=ctx.transport,
            )
            document = json.loads(got.body)
        except (ProbeError, ValueError):
            return []  # the pages above say whether WHMCS is up; the API is a bonus here
        return health_findings(document, ctx)


def health_findings(document: Any, ctx: ProbeContext) -> list[Finding]:
    checks = document.get("checks") if isinstance(document, dict) else None
    if not isinstance(checks, dict):
        return []
    found = []
    for level, kind in (("danger", "system.health_danger"), ("warning", "system.health_warning")):
        for item in checks.get(level) or []:
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or item.get("type") or "unnamed")
            body = " ".join(_TAGS.sub(" ", str(item.get("body") or "")).split())
            data = {"name": name, "body": body[:MAX_HEALTH_BODY]}
            found.append(Finding(kind, f"{name}:{ctx.now:%Y%m%d}", data))
    return found
