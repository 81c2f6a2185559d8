"""Every check's latest state, latency and metrics on ``/metrics``, read from the database at
scrape time so each instance reports the same truth whichever one ran the check."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from whmcs_monitor.checks.tables import check_state, heartbeats
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.store.db import Database

_CHECK_LABELS = ["check", "type", "site"]


class CheckCollector(Collector):
    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "whmcs_monitor_check_up",
            "1 while a check answers (up or degraded), 0 while it is down.",
            labels=_CHECK_LABELS,
        )
        degraded = GaugeMetricFamily(
            "whmcs_monitor_check_degraded", "1 while a check is degraded.", labels=_CHECK_LABELS
        )
        latency = GaugeMetricFamily(
            "whmcs_monitor_check_latency_seconds",
            "Duration of the check's last probe.",
            labels=_CHECK_LABELS,
        )
        values = GaugeMetricFamily(
            "whmcs_monitor_check_value",
            "Each metric of the check's last probe (days_left, connections_pct, disk_pct...).",
            labels=[*_CHECK_LABELS, "metric", "item"],
        )
        beats = GaugeMetricFamily(
            "whmcs_monitor_heartbeat_up",
            "0 once a heartbeat has missed its schedule plus grace or reported a failure.",
            labels=["heartbeat", "site"],
        )
        last_ping = GaugeMetricFamily(
            "whmcs_monitor_heartbeat_last_ping_timestamp_seconds",
            "When the heartbeat last pinged (Unix time).",
            labels=["heartbeat", "site"],
        )
        with self._db.read() as conn:
            checks = conn.execute(sa.select(check_state).where(check_state.c.state != "unknown"))
            for row in checks:
                labels = [row.name, row.type, row.site]
                up.add_metric(labels, 0 if row.state == "down" else 1)
                degraded.add_metric(labels, 1 if row.state == "degraded" else 0)
                if row.last_latency_ms is not None:
                    latency.add_metric(labels, row.last_latency_ms / 1000)
                for key, value in sorted((row.last_metrics or {}).items()):
                    name, _, item = key.partition(":")
                    values.add_metric([*labels, name, item], value)
            for beat in conn.execute(sa.select(heartbeats).where(heartbeats.c.state != "new")):
                beats.add_metric([beat.name, beat.site], 0 if beat.state == "down" else 1)
                if beat.last_ping_at is not None:
                    last_ping.add_metric(
                        [beat.name, beat.site], as_utc(beat.last_ping_at).timestamp()
                    )
        yield from (up, degraded, latency, values, beats, last_ping)
