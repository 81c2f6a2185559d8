"""Metric samples: series by labels, rollups and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from whmcs_monitor.store import metrics as m
from whmcs_monitor.store.db import Database

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_points_are_found_by_name_and_label_subset(db: Database) -> None:
    with db.write() as conn:
        m.record(
            conn,
            [
                m.Sample("check_latency_seconds", 0.2, {"check": "home", "site": "main"}, ts=T0),
                m.Sample("check_latency_seconds", 0.4, {"check": "cart", "site": "main"}, ts=T0),
                m.Sample(
                    "check_latency_seconds",
                    0.3,
                    {"check": "home", "site": "main"},
                    ts=T0 + timedelta(minutes=1),
                ),
            ],
        )
    with db.read() as conn:
        home = m.query(conn, "check_latency_seconds", since=T0, labels={"check": "home"})
        newest = m.latest(conn, "check_latency_seconds", labels={"check": "home"})
    assert len(home) == 1 and [v for _, v in home[0].points] == [0.2, 0.3]
    assert newest[0][2] == 0.3


def test_rollups_average_buckets_and_are_idempotent(db: Database) -> None:
    with db.write() as conn:
        m.record(
            conn, [m.Sample("load", float(v), ts=T0 + timedelta(minutes=v)) for v in range(10)]
        )
    for _ in range(2):
        with db.write() as conn:
            m.rollup(conn, now=T0 + timedelta(minutes=10), lookback=timedelta(hours=2))
    with db.read() as conn:
        five = m.query(conn, "load", since=T0, resolution=timedelta(minutes=5))
        hour = m.query(conn, "load", since=T0, resolution=timedelta(hours=1))
    assert [v for _, v in five[0].points] == [2.0, 7.0]
    assert [v for _, v in hour[0].points] == [4.5]


def test_prune_drops_raw_points_past_retention(db: Database) -> None:
    with db.write() as conn:
        m.record(
            conn, [m.Sample("load", 1.0, ts=T0), m.Sample("load", 2.0, ts=T0 + timedelta(days=9))]
        )
        m.prune(conn, now=T0 + timedelta(days=9))
    with db.read() as conn:
        assert [v for _, v in m.query(conn, "load", since=T0)[0].points] == [2.0]
