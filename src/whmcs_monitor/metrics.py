"""Prometheus metrics for one service instance (a registry per app, so tests stay isolated)."""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable, Sequence

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from whmcs_monitor import __version__
from whmcs_monitor.events.model import Event

log = logging.getLogger(__name__)


class _DatabaseReads(Collector):
    """The collectors that read the database at scrape time, and whether they could.

    A database error leaves their metrics out instead of failing the scrape: the in-process
    ingest counters matter most while the database is down. The first error skips the reads
    after it, each of which would wait for the same database.
    """

    def __init__(self) -> None:
        self.collectors: list[Collector] = []

    def collect(self) -> Iterable[Metric]:
        metrics: list[Metric] = []
        up = 1
        try:
            for collector in self.collectors:
                metrics.extend(collector.collect())
        except sa.exc.SQLAlchemyError as exc:
            reason = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
            log.warning("metrics read from the database are missing from this scrape: %s", reason)
            up = 0
        yield from metrics
        yield GaugeMetricFamily(
            "whmcs_monitor_database_up",
            "1 when this scrape read the database, 0 when it could not (the metrics read from "
            "it, such as the pipeline lag, are missing).",
            value=up,
        )


class _PipelineLag(Collector):
    """Reads the lag from the database at scrape time, so every instance reports the truth."""

    def __init__(self, read_lag: Callable[[], dict[str, int]]) -> None:
        self._read_lag = read_lag

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "whmcs_monitor_pipeline_lag_events",
            "Stored events a pipeline consumer has not processed yet.",
            labels=["consumer"],
        )
        for consumer, lag in sorted(self._read_lag().items()):
            family.add_metric([consumer], lag)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        Info("whmcs_monitor_build", "Version of whmcs-monitor.", registry=self.registry).info(
            {"version": __version__}
        )
        self.ingested = Counter(
            "whmcs_monitor_events_ingested",
            "Events stored, by site and kind.",
            ["site", "kind"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "whmcs_monitor_ingest_duplicates",
            "Events acknowledged but not stored again because their id was seen before.",
            ["site"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "whmcs_monitor_ingest_rejections",
            "Ingest requests refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "whmcs_monitor_ingest_request_duration_seconds",
            "Time to validate and durably store one ingest request.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self._database_reads = _DatabaseReads()
        self.registry.register(self._database_reads)

    def watch_database(self, collector: Collector) -> None:
        """Collect ``collector``, which reads the database, without failing the scrape."""
        self._database_reads.collectors.append(collector)

    def watch_pipeline(self, read_lag: Callable[[], dict[str, int]]) -> None:
        self.watch_database(_PipelineLag(read_lag))

    def count_stored(self, stored: Sequence[Event]) -> None:
        """One increment per (site, kind), not per event: a label lookup costs more than a sum."""
        for (site, kind), count in collections.Counter((e.site, e.kind) for e in stored).items():
            self.ingested.labels(site, kind).inc(count)
