"""DNS checks: a name resolves, to the expected answers, through the resolver you choose."""

from __future__ import annotations

import ipaddress
import time
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from whmcs_monitor.checks.base import CheckBase, Finding, ProbeContext, Result, ms_since

if TYPE_CHECKING:
    import dns.asyncresolver

RecordType = Literal["A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "CAA", "SRV", "PTR"]


def _normalize(answer: str) -> str:
    """Compare answers without case, quotes or the root dot, so config stays readable."""
    return answer.strip().strip('"').rstrip(".").lower()


class DnsCheck(CheckBase):
    type: Literal["dns"] = "dns"
    query: str
    record_type: RecordType = "A"
    expected: list[str] = Field(default_factory=list)
    match: Literal["exact", "contains"] = "exact"
    resolvers: list[str] = Field(default_factory=list)
    resolver_port: int = Field(default=53, ge=1, le=65535)

    @field_validator("resolvers")
    @classmethod
    def _ip_addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ipaddress.ip_address(address)
            except ValueError as exc:
                raise ValueError(f"{address!r} is not an IP address of a resolver") from exc
        return value

    @property
    def target(self) -> str:
        via = f" @{','.join(self.resolvers)}" if self.resolvers else ""
        return f"{self.query} {self.record_type}{via}"

    def down_labels(self) -> dict[str, str]:
        return {"name": self.query, "record_type": self.record_type}

    def _resolver(self) -> dns.asyncresolver.Resolver:
        # Imported on first use: dnspython adds 2 MB to a process that never runs a DNS check.
        import dns.asyncresolver

        if not self.resolvers:
            return dns.asyncresolver.Resolver()
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = list(self.resolvers)
        resolver.port = self.resolver_port
        return resolver

    async def probe(self, ctx: ProbeContext) -> Result:
        import dns.exception
        import dns.resolver

        resolver = self._resolver()
        start = time.perf_counter()
        failure: str | None
        try:
            answer = await resolver.resolve(self.query, self.record_type, lifetime=self.own_timeout)
            actual = sorted(_normalize(rdata.to_text()) for rdata in answer)
        except dns.resolver.NXDOMAIN:
            actual = []
            failure = f"{self.query} does not exist (NXDOMAIN)"
        except dns.resolver.NoAnswer:
            actual = []
            failure = f"{self.query} has no {self.record_type} record"
        except dns.exception.Timeout:
            return Result("down", f"no DNS answer for {self.query} within the timeout")
        except (dns.exception.DNSException, OSError) as exc:
            return Result("down", f"DNS lookup of {self.query} failed: {exc}")
        else:
            failure = self._mismatch(actual)
        elapsed = ms_since(start, time.perf_counter())
        metrics = {"answers": float(len(actual))}
        if failure is None:
            return Result(
                "up", f"{self.query} {self.record_type} = {', '.join(actual)}", elapsed, metrics
            )
        data = {
            "name": self.query,
            "record_type": self.record_type,
            "actual": ", ".join(actual) or "nothing",
            "expected": ", ".join(self.expected) or "any answer",
        }
        finding = Finding("dns.mismatch", "|".join(actual) or "none", data)
        return Result("down", failure, elapsed, metrics, [finding])

    def _mismatch(self, actual: list[str]) -> str | None:
        wanted = {_normalize(e) for e in self.expected}
        if not wanted:
            return None
        got = set(actual)
        ok = got == wanted if self.match == "exact" else wanted <= got
        if ok:
            return None
        return f"{self.query} {self.record_type} is {', '.join(actual)}, expected {', '.join(sorted(wanted))}"
