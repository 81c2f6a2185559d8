"""A small client for the WHMCS API (includes/api.php), for sites the poller cannot reach by SQL.

Requests are form POSTs with ``identifier``/``secret`` and ``responsetype=json``. Transport
failures and 5xx answers are retried with exponential backoff; WHMCS's own errors are not,
because retrying a bad credential is what gets an IP banned (``3 Invalid API Login Attempts``).
Authentication failures, a refused IP, an IP ban and an action the API role does not allow each
raise an error that says what to fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from whmcs_monitor.config import WhmcsApiConfig

MAX_PAGE = 250


class WhmcsApiError(Exception):
    """WHMCS refused or failed an API call; ``str()`` is a plain, user-facing sentence."""


class WhmcsApiAuthError(WhmcsApiError):
    pass


class WhmcsApiIpError(WhmcsApiError):
    pass


class WhmcsApiPermissionError(WhmcsApiError):
    """The credential works but its API role does not allow this one action."""


def endpoint(url: str) -> str:
    """Accept the WHMCS base URL or the full api.php URL."""
    url = url.rstrip("/")
    return url if url.endswith("/api.php") else f"{url}/includes/api.php"


def _classify(message: str, url: str, action: str) -> WhmcsApiError:
    lowered = message.lower()
    if "banned" in lowered:
        return WhmcsApiIpError(
            f"{url}: WHMCS has banned this monitor's IP address ({message}); remove it under "
            "Configuration > System Settings > Security > Banned IPs and check the API secret"
        )
    if "invalid ip" in lowered:
        return WhmcsApiIpError(
            f"{url}: WHMCS refuses API calls from this IP ({message}); add the monitor's IP to "
            "the API IP allow-list (General Settings > Security)"
        )
    if "invalid permissions" in lowered:
        return WhmcsApiPermissionError(
            f"{url}: the API role does not allow {action} ({message}); add {action} to the "
            "credential's API role (Manage API Credentials > API Roles) to get what it reports"
        )
    if "authentication failed" in lowered:
        return WhmcsApiAuthError(
            f"{url}: WHMCS rejected the API credential ({message}); check sites[].api.identifier "
            "and secret"
        )
    return WhmcsApiError(f"{url}: WHMCS answered with an error: {message}")


class WhmcsApi:
    def __init__(
        self,
        cfg: WhmcsApiConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        timeout_seconds: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = endpoint(cfg.url)
        self._auth = {"identifier": cfg.identifier, "secret": cfg.secret.get_secret_value()}
        self._retries = retries
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, timeout=timeout_seconds)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WhmcsApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        form = {**params, **self._auth, "action": action, "responsetype": "json"}
        for attempt in range(self._retries + 1):
            try:
                response = self._http.post(self.url, data=form)
            except httpx.TransportError as exc:
                if attempt == self._retries:
                    raise WhmcsApiError(f"{self.url}: cannot reach WHMCS ({exc})") from exc
            else:
                if response.status_code < 500 or attempt == self._retries:
                    return self._decode(response, action)
            self._sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _decode(self, response: httpx.Response, action: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise WhmcsApiError(
                f"{self.url}: {action} returned HTTP {response.status_code} without a JSON "
                "answer; is this the WHMCS URL?"
            )
        if body.get("result") == "error" or response.status_code >= 400:
            message = str(body.get("message") or f"HTTP {response.status_code}")
            raise _classify(message, self.url, action)
        return body

    def paginate(
        self, action: str, path: tuple[str, ...], *, max_items: int = 1000, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Items of a list action, following ``limitstart``/``limitnum`` until ``totalresults``."""
        start, seen = 0, 0
        while seen < max_items:
            body = self.call(action, limitstart=start, limitnum=MAX_PAGE, **params)
            items = _dig(body, path)
            for item in items:
                yield item
                seen += 1
                if seen >= max_items:
                    return
            start += len(items)
            total = int(body.get("totalresults") or 0)
            if not items or start >= total:
                return

    # -- the actions the poller uses ---------------------------------------------------------

    def activity_log(self, *, max_items: int = 500) -> list[dict[str, Any]]:
        return list(self.paginate("GetActivityLog", ("activity", "entry"), max_items=max_items))

    def overdue_invoices(self, *, max_items: int = 1000) -> list[dict[str, Any]]:
        return list(
            self.paginate(
                "GetInvoices", ("invoices", "invoice"), max_items=max_items, status="Overdue"
            )
        )

    def clients_domains(self, *, max_items: int = 5000) -> list[dict[str, Any]]:
        return list(self.paginate("GetClientsDomains", ("domains", "domain"), max_items=max_items))

    def tickets(self, status: str, *, max_items: int = 1000) -> list[dict[str, Any]]:
        return list(
            self.paginate("GetTickets", ("tickets", "ticket"), max_items=max_items, status=status)
        )

    def orders(self, status: str, *, max_items: int = 1000) -> list[dict[str, Any]]:
        return list(
            self.paginate("GetOrders", ("orders", "order"), max_items=max_items, status=status)
        )

    def module_queue(self) -> list[dict[str, Any]]:
        return list(_dig(self.call("GetModuleQueue"), ("queue",)))

    def automation_log(self) -> dict[str, Any]:
        return self.call("GetAutomationLog")

    def health_status(self) -> dict[str, list[dict[str, Any]]]:
        checks = self.call("GetHealthStatus", fetchStatus=True).get("checks") or {}
        return {level: list(checks.get(level) or []) for level in ("success", "warning", "danger")}

    def stats(self) -> dict[str, Any]:
        return self.call("GetStats")

    def whmcs_details(self) -> dict[str, Any]:
        return dict(self.call("WhmcsDetails").get("whmcs") or {})


def _dig(body: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """WHMCS nests lists as ``{"invoices": {"invoice": [...]}}`` and sends ``""`` when empty."""
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node = [node]
    return [item for item in node or [] if isinstance(item, dict)]
