"""MySQL/MariaDB health from SHOW GLOBAL STATUS and SHOW GLOBAL VARIABLES: connect time,
connections against max_connections, slow-query rate, aborted connects, QPS, the InnoDB
buffer-pool hit ratio and, on a replica, replication lag."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr

from whmcs_monitor.checks.base import CheckBase, ProbeContext, Result, ms_since
from whmcs_monitor.checks.blocking import Deadline, DeadlineExceeded, run_bounded
from whmcs_monitor.checks.http import ssl_context

_STATUS = (
    "Threads_connected",
    "Questions",
    "Slow_queries",
    "Aborted_connects",
    "Innodb_buffer_pool_reads",
    "Innodb_buffer_pool_read_requests",
    "Uptime",
)
_COUNTERS = ("Questions", "Slow_queries", "Aborted_connects")
ER_SPECIFIC_ACCESS_DENIED = 1227  # "Access denied; you need (at least one of) the ... privilege"


def _read_server(
    check: MysqlCheck, deadline: Deadline
) -> tuple[dict[str, float], float | None, float]:
    """Blocking: connect, read status, variables and replica state, all within ``deadline``."""
    import pymysql  # on first use: with the cryptography it loads, about 9 MB

    start = time.perf_counter()
    conn = pymysql.connect(
        host=check.host,
        port=check.port,
        user=check.user,
        password=check.password.get_secret_value() if check.password else "",
        connect_timeout=deadline.seconds,
        read_timeout=deadline.seconds,
        ssl=ssl_context(True, None) if check.ssl else None,
        defer_connect=True,  # so the deadline watches the socket from the handshake on
    )
    deadline.watch(lambda: conn._sock)  # replaced by its TLS wrapper when ssl is on
    conn.connect()
    connect_ms = ms_since(start, time.perf_counter())
    try:
        with conn.cursor() as cursor:
            names = ", ".join(f"'{name}'" for name in _STATUS)
            cursor.execute(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")
            status = {name: float(value) for name, value in cursor.fetchall()}
            cursor.execute("SHOW GLOBAL VARIABLES WHERE Variable_name = 'max_connections'")
            status.update({name: float(value) for name, value in cursor.fetchall()})
            lag = _replica_lag(cursor)
    finally:
        conn.close()
    return status, lag, connect_ms


def _replica_lag(cursor: Any) -> float | None:
    """Seconds behind the source on a replica; ``None`` on a primary, or when the monitoring
    user lacks the optional privilege to read replica status (a least-privilege user)."""
    import pymysql

    for statement in ("SHOW REPLICA STATUS", "SHOW SLAVE STATUS"):
        try:
            cursor.execute(statement)
        except pymysql.err.ProgrammingError:
            continue  # the other spelling is the one this server version knows
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] == ER_SPECIFIC_ACCESS_DENIED:
                return None  # needs REPLICATION CLIENT (MySQL) or SLAVE MONITOR (MariaDB)
            raise
        row = cursor.fetchone()
        if row is None:
            return None
        columns = [d[0] for d in cursor.description]
        values = dict(zip(columns, row, strict=True))
        lag = values.get("Seconds_Behind_Source", values.get("Seconds_Behind_Master"))
        return float(lag) if lag is not None else float("inf")  # NULL: replication stopped
    return None


class MysqlCheck(CheckBase):
    type: Literal["mysql"] = "mysql"
    down_kind = "mysql.check_failed"

    host: str = "127.0.0.1"
    port: int = Field(default=3306, ge=1, le=65535)
    user: str
    password: SecretStr | None = None
    ssl: bool = False
    max_connections_pct: float = Field(default=80, gt=0, le=100)
    max_replica_lag_s: float = Field(default=300, gt=0)
    max_slow_queries_per_s: float = Field(default=1, gt=0)
    min_buffer_pool_hit_ratio: float = Field(default=0.95, ge=0, le=1)
    degraded_connect_ms: float = Field(default=1000, gt=0)

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def down_labels(self) -> dict[str, str]:
        return {"host": self.target}

    async def probe(self, ctx: ProbeContext) -> Result:
        import pymysql

        try:
            status, lag, connect_ms = await run_bounded(
                lambda deadline: _read_server(self, deadline), self.own_timeout
            )
        except DeadlineExceeded as exc:
            return Result("down", f"MySQL {self.target}: {exc}")
        except pymysql.MySQLError as exc:
            code, text = exc.args[0] if exc.args else 0, exc.args[-1] if exc.args else exc
            return Result("down", f"MySQL {self.target}: {text} (error {code})")
        metrics = _derive(status, ctx)
        metrics["connect_ms"] = connect_ms
        if lag is not None:
            metrics["replica_lag_s"] = lag
        problems = self._problems(metrics)
        if not problems:
            summary = (
                f"{metrics['threads_connected']:.0f}/{metrics['max_connections']:.0f} connections, "
                f"connect {connect_ms:.0f} ms"
            )
            return Result("up", summary, connect_ms, metrics)
        # No finding: the scheduler stores check.degraded when the state changes, once per
        # episode. mysql.check_failed is for a check that fails (its down kind), not a threshold.
        return Result("degraded", "; ".join(problems), connect_ms, metrics)

    def _problems(self, m: Mapping[str, float]) -> list[str]:
        found = []
        if m["connections_pct"] > self.max_connections_pct:
            found.append(f"{m['connections_pct']:.0f}% of max_connections in use")
        if m.get("replica_lag_s", 0) > self.max_replica_lag_s:
            lag = m["replica_lag_s"]
            found.append(
                "replication is stopped" if lag == float("inf") else f"replica {lag:.0f}s behind"
            )
        if m.get("slow_queries_per_s", 0) > self.max_slow_queries_per_s:
            found.append(f"{m['slow_queries_per_s']:.2f} slow queries/s")
        if m.get("buffer_pool_hit_ratio", 1) < self.min_buffer_pool_hit_ratio:
            found.append(f"buffer pool hit ratio {m['buffer_pool_hit_ratio']:.3f}")
        if m["connect_ms"] > self.degraded_connect_ms:
            found.append(f"connect took {m['connect_ms']:.0f} ms")
        return found


def _derive(status: Mapping[str, float], ctx: ProbeContext) -> dict[str, float]:
    """Ratios and per-second rates (from the previous run's counters) out of raw status."""
    metrics = {
        "threads_connected": status.get("Threads_connected", 0.0),
        "max_connections": status.get("max_connections", 0.0),
    }
    limit = metrics["max_connections"]
    metrics["connections_pct"] = 100 * metrics["threads_connected"] / limit if limit else 0.0
    requests = status.get("Innodb_buffer_pool_read_requests", 0.0)
    if requests:
        metrics["buffer_pool_hit_ratio"] = (
            1 - status.get("Innodb_buffer_pool_reads", 0.0) / requests
        )
    for counter in _COUNTERS:
        key = counter.lower()
        metrics[key] = status.get(counter, 0.0)
        rate = ctx.rate(key, metrics[key])
        if rate is not None:
            metrics[f"{'qps' if counter == 'Questions' else key + '_per_s'}"] = rate
    return metrics
