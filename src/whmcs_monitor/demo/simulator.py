"""Send the business-day stories as signed batches through the real ingest endpoint."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from whmcs_monitor import __version__
from whmcs_monitor.config import Settings
from whmcs_monitor.demo.scenarios import SCENARIOS, Batch, Business, pick
from whmcs_monitor.lib.signing import sign
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.notify.errors import redact_url

log = logging.getLogger(__name__)
AVERAGE_EVENTS_PER_STORY = 4.5
STORY_TIME_SCALE = 0.05  # a ten-minute support conversation plays out in thirty seconds


class DemoSiteRefused(Exception):
    """The monitor does not accept the demo site: its own demo mode is off."""


@dataclass(frozen=True)
class Target:
    url: str
    site_id: str
    secret: bytes

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> Target:
        demo = settings.demo
        if demo.secret is None:
            raise ValueError("demo.secret is not set in the config; run `whmcs-monitor init`")
        host = "127.0.0.1" if settings.server.host in ("0.0.0.0", "::") else settings.server.host
        base = url or f"http://{host}:{settings.server.port}"
        return cls(base.rstrip("/"), demo.site_id, demo.secret.get_secret_value().encode())

    @property
    def shown_url(self) -> str:
        """The URL for messages: a ``--url`` may carry a proxy's password (``https://u:pw@...``)."""
        return redact_url(self.url)


def to_protocol(batch: Batch) -> bytes:
    """The ingest body the WHMCS module would send for this batch."""
    now = utcnow().isoformat().replace("+00:00", "Z")
    events: list[dict[str, Any]] = []
    for item in batch:
        event = {k: v for k, v in item.items() if k in ("hook", "kind", "vars")}
        event.update(
            id=str(uuid.uuid4()),
            occurred_at=now,
            context={
                "request": item["request"],
                "whmcs_version": "8.13.1",
                "module_version": __version__,
                "demo": True,
            },
        )
        events.append(event)
    return json.dumps({"events": events}).encode()


class Simulator:
    def __init__(self, target: Target, *, events_per_minute: int, seed: int | None = None) -> None:
        self.target = target
        self.business = Business(rng=random.Random(seed))
        self.story_interval = 60.0 / max(events_per_minute / AVERAGE_EVENTS_PER_STORY, 0.01)
        self._queue: list[tuple[float, int, Batch]] = []
        self._tie = itertools.count()
        self.sent_events = 0

    def _schedule(self, steps: list[tuple[float, Batch]], start: float) -> None:
        due = start
        for delay, batch in steps:
            due += delay * STORY_TIME_SCALE
            heapq.heappush(self._queue, (due, next(self._tie), batch))

    def warm_up(self, now: float) -> None:
        """Begin with one of every story, so the first minute already shows a whole business."""
        stories = [story for story, _ in SCENARIOS]
        self.business.rng.shuffle(stories)
        for offset, story in enumerate(stories):
            self._schedule(story(self.business), now + offset * 0.5)

    async def send(self, client: httpx.AsyncClient, batch: Batch) -> None:
        body = to_protocol(batch)
        stamp = str(int(time.time()))
        response = await client.post(
            f"{self.target.url}/api/v1/ingest",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-WHMCS-Monitor-Site": self.target.site_id,
                "X-WHMCS-Monitor-Timestamp": stamp,
                "X-WHMCS-Monitor-Signature": sign(self.target.secret, stamp, body),
            },
        )
        if response.status_code == 401:
            raise DemoSiteRefused(
                f"the monitor at {self.target.shown_url} refused the demo site (401): it "
                "accepts demo traffic only while its demo mode is on (demo.enabled: on, or "
                "`whmcs-monitor run` before a WHMCS is connected, without --no-demo)"
            )
        if response.status_code != 202:
            log.warning("demo batch refused (%s): %s", response.status_code, response.text[:300])
        else:
            self.sent_events += len(batch)

    async def run(self, *, max_events: int | None = None, duration: float | None = None) -> int:
        """Play stories until stopped (or a bound is reached); returns the events sent."""
        started = time.monotonic()
        next_story = started
        self.warm_up(started)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
            await _wait_until_up(client, self.target)
            while (max_events is None or self.sent_events < max_events) and (
                duration is None or time.monotonic() - started < duration
            ):
                now = time.monotonic()
                if now >= next_story:
                    self._schedule(pick(self.business), now)
                    next_story = now + self.business.rng.expovariate(1 / self.story_interval)
                while self._queue and self._queue[0][0] <= now:
                    _, _, batch = heapq.heappop(self._queue)
                    try:
                        await self.send(client, batch)
                    except httpx.HTTPError as exc:
                        log.warning("demo could not reach %s: %s", self.target.shown_url, exc)
                wake = min(next_story, self._queue[0][0] if self._queue else next_story)
                await asyncio.sleep(max(0.0, min(wake - time.monotonic(), 1.0)))
        return self.sent_events


async def _wait_until_up(client: httpx.AsyncClient, target: Target, attempts: int = 100) -> None:
    for _ in range(attempts):
        try:
            if (await client.get(f"{target.url}/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise ConnectionError(f"the monitor at {target.shown_url} did not come up")


async def run_simulator(settings: Settings) -> None:
    """The background task of ``whmcs-monitor run`` in demo mode."""
    simulator = Simulator(
        Target.from_settings(settings), events_per_minute=settings.demo.events_per_minute
    )
    try:
        await simulator.run()
    except (ConnectionError, DemoSiteRefused) as exc:
        log.error("demo mode stopped: %s", exc)
