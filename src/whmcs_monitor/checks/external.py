"""External dependencies: registrar and payment-gateway endpoints by URL with an expected status
(presets for common providers live in providers.yaml), and domain expiry through RDAP."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, model_validator

from whmcs_monitor.checks.base import CheckBase, Finding, ProbeContext, Result, expiry_phrase
from whmcs_monitor.checks.http import Fetched, HttpSettings, ProbeError, display_url, fetch
from whmcs_monitor.lib.timeutil import as_utc

PROVIDERS_FILE = Path(__file__).with_name("providers.yaml")
Role = Literal["registrar", "gateway", "server", "service"]
# role -> (catalog kind stored when the dependency goes down, the label it groups by)
_DOWN_KINDS: dict[str, tuple[str, str]] = {
    "registrar": ("dependency.registrar_down", "registrar"),
    "gateway": ("dependency.gateway_down", "gateway"),
    "server": ("dependency.server_api_down", "server"),
    "service": ("dependency.external_service_down", "service"),
}
DOMAIN_STEPS = (1, 7, 14, 30, 60)
# The HTTP settings that judge an answer; any of them turns a preset's reachable_only off.
_CONDITIONS = ("expect_status", "keyword", "keyword_absent", "regex", "json_conditions")


@functools.cache
def providers() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(PROVIDERS_FILE.read_text("utf-8"))
    return {str(name): dict(entry) for name, entry in data.items()}


class ExternalCheck(HttpSettings):
    type: Literal["external"] = "external"
    role: Role = "service"
    provider: str | None = None
    service: str = ""
    reachable_only: bool = False

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        """Preset values fill what the user left out; the user's own settings always win.

        A preset judges by reachability (any answer below 500) only while the user set no
        condition of their own: an ``expect_status`` or ``keyword`` given with a preset holds.
        """
        if not isinstance(data, dict) or data.get("provider") is None:
            return data
        name = data["provider"]
        preset = providers().get(name)
        if preset is None:
            known = ", ".join(sorted(providers()))
            raise ValueError(f"provider: {name!r} is not a known provider (known: {known})")
        judged = any(data.get(setting) for setting in _CONDITIONS)
        return {"reachable_only": not judged, "service": name, **preset, **data}

    def judge(self, got: Fetched) -> str | None:
        if self.reachable_only:
            return None if got.status < 500 else f"HTTP {got.status} from {display_url(got.url)}"
        return super().judge(got)

    def down_event(self) -> tuple[str, dict[str, str]] | None:
        kind, label = _DOWN_KINDS[self.role]
        return kind, {label: self.service or self.target, "target": self.target}


def expiry_of(document: Any) -> datetime | None:
    """The ``expiration`` event date of an RDAP domain answer (RFC 9083 section 4.5).

    RFC 3339 requires a zone, but some registries send none (or a bare date): that is UTC.
    """
    events = document.get("events") if isinstance(document, dict) else None
    for event in events or []:
        if isinstance(event, dict) and event.get("eventAction") == "expiration":
            try:
                when = datetime.fromisoformat(str(event.get("eventDate")).replace("Z", "+00:00"))
            except ValueError:
                return None
            return as_utc(when)
    return None


class RdapCheck(CheckBase):
    """The operator's own domain's expiry, from the registry's RDAP service."""

    type: Literal["rdap"] = "rdap"
    domain: str
    warn_days: int = Field(default=30, ge=1, le=365)
    rdap_url: str = "https://rdap.org/domain/"

    @property
    def target(self) -> str:
        return self.domain

    async def probe(self, ctx: ProbeContext) -> Result:
        url = f"{self.rdap_url.rstrip('/')}/{self.domain}"
        try:
            got = await fetch(
                url,
                timeout=self.timeout.total_seconds(),
                headers={"Accept": "application/rdap+json"},
                transport=ctx.transport,
            )
        except ProbeError as exc:
            return Result("down", f"RDAP lookup of {self.domain} failed: {exc}")
        if got.status != 200:
            return Result("down", f"RDAP lookup of {self.domain}: HTTP {got.status}")
        try:
            expires = expiry_of(json.loads(got.body))
        except ValueError:
            return Result("down", f"RDAP answer for {self.domain} is not JSON")
        if expires is None:
            return Result("down", f"the RDAP answer for {self.domain} has no expiration date")
        days_left = (expires - ctx.now).total_seconds() / 86400
        metrics = {"days_left": round(days_left, 3)}
        if days_left >= self.warn_days:
            return Result(
                "up", f"{self.domain} expires {expires:%Y-%m-%d}", got.elapsed_ms, metrics
            )
        message = f"{self.domain} {expiry_phrase(days_left)} ({expires:%Y-%m-%d})"
        if days_left <= 0:
            expired = {"domain": self.domain, "expirydate": f"{expires:%Y-%m-%d}"}
            finding = Finding("domain.expired", f"{expires:%Y%m%d}", expired)
            return Result("down", message, got.elapsed_ms, metrics, [finding])
        step = next(s for s in (*DOMAIN_STEPS, 10**6) if days_left < s)
        data = {
            "domain": self.domain,
            "days_left": int(days_left),
            "expirydate": f"{expires:%Y-%m-%d}",
            "days_threshold": step,
        }
        finding = Finding("domain.expiring", f"{expires:%Y%m%d}:{step}", data)
        return Result("degraded", message, got.elapsed_ms, metrics, [finding])
