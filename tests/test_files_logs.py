"""Log following: fatal PHP and database errors grouped by fingerprint, rotation, growth."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from files_fixtures import files_settings, open_db
from whmcs_monitor.config import Settings
from whmcs_monitor.files.logparse import parse_line
from whmcs_monitor.files.logs import poll_all
from whmcs_monitor.store import metrics
from whmcs_monitor.store.db import Database

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
FATAL = (
    "[27-Nov-2026 10:00:{s:02d} UTC] PHP Fatal error:  Uncaught Error: Call to undefined function "
    "whmcs_gw_{n}() in /var/www/whmcs/modules/gateways/acme.php:{line}\n"
)
PDO = (
    '2026/11/27 10:00:01 [error] 811#811: *52 FastCGI sent in stderr: "PHP message: PHP Fatal '
    "error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in "
    '/var/www/whmcs/vendor/illuminate/database/Connectors/Connector.php:70" while reading\n'
)


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    (directory / "php_errors.log").write_text("PHP Fatal error:  old history in /x.php on line 1\n")
    (directory / "nginx_error.log").write_text("")
    return directory


def _settings(database_url: str, tmp_path: Path, logs_dir: Path, **source: Any) -> Settings:
    return files_settings(
        database_url,
        tmp_path,
        logs={
            "repeat_interval": "15m",
            "sources": [
                {"path": str(logs_dir / "php_errors.log"), "kind": "php", **source},
                {"path": str(logs_dir / "nginx_error.log"), "kind": "webserver"},
            ],
        },
    )


@pytest.fixture
def lsettings(database_url: str, tmp_path: Path, logs_dir: Path) -> Settings:
    return _settings(database_url, tmp_path, logs_dir)


@pytest.fixture
def ldb(lsettings: Settings) -> Iterator[Database]:
    database = open_db(lsettings)
    poll_all(database, lsettings, T0)  # first sight: follow from the end
    yield database
    database.dispose()


def append(path: Path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


def kinds(events: list[Any]) -> list[str]:
    return [e.kind for e in events]


def test_history_already_in_a_log_is_not_reported(ldb: Database, lsettings: Settings) -> None:
    assert poll_all(ldb, lsettings, T0 + timedelta(seconds=10)) == []


def test_a_fatal_php_error_becomes_an_event_with_an_explainable_fingerprint(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    append(logs_dir / "php_errors.log", FATAL.format(s=5, n=1, line=42))
    [event] = poll_all(ldb, lsettings, T0 + timedelta(seconds=10))
    assert event.kind == "log.fatal_error"
    assert event.payload["file"] == "/var/www/whmcs/modules/gateways/acme.php"
    assert event.payload["line"] == 42
    assert event.payload["fingerprint_basis"] == {
        "type": "PHP Fatal error",
        "normalized_message": "Uncaught Error: Call to undefined function whmcs_gw_N()",
        "where": "/var/www/whmcs/modules/gateways/acme.php:42",
    }


def test_repeats_of_one_error_are_grouped_and_counted_until_the_repeat_interval(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    log = logs_dir / "php_errors.log"
    append(log, "".join(FATAL.format(s=s, n=s, line=42) for s in range(3)))
    first = poll_all(ldb, lsettings, T0 + timedelta(minutes=1))
    append(log, "".join(FATAL.format(s=s, n=s, line=42) for s in range(4)))
    quiet = poll_all(ldb, lsettings, T0 + timedelta(minutes=5))
    append(log, FATAL.format(s=1, n=9, line=42))
    later = poll_all(ldb, lsettings, T0 + timedelta(minutes=20))
    assert [e.payload["count"] for e in first] == [3]
    assert quiet == []
    assert [e.payload["count"] for e in later] == [5]
    assert later[0].payload["fingerprint"] == first[0].payload["fingerprint"]


def test_the_same_message_on_another_line_is_another_fingerprint() -> None:
    one = parse_line(FATAL.format(s=1, n=1, line=42))
    other = parse_line(FATAL.format(s=1, n=1, line=43))
    assert one and other and one.fingerprint != other.fingerprint


def test_a_database_error_in_the_web_server_log_is_reported_as_one(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    append(logs_dir / "nginx_error.log", PDO)
    [event] = poll_all(ldb, lsettings, T0 + timedelta(seconds=10))
    assert event.payload["error_type"] == "Database error"
    assert event.payload["line"] == 70
    assert "nginx_error.log" in event.summary


def test_lines_written_just_before_a_rotation_are_read_from_the_rotated_file(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    log = logs_dir / "php_errors.log"
    append(log, FATAL.format(s=1, n=1, line=1))
    log.rename(logs_dir / "php_errors.log.1")
    append(log, FATAL.format(s=2, n=2, line=2))
    events = poll_all(ldb, lsettings, T0 + timedelta(seconds=10))
    assert sorted(e.payload["line"] for e in events) == [1, 2]


def test_a_truncated_log_is_read_again_from_the_top(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    log = logs_dir / "php_errors.log"
    append(log, "x" * 4000 + "\n")
    poll_all(ldb, lsettings, T0 + timedelta(seconds=10))
    os.truncate(log, 0)  # logrotate's copytruncate
    append(log, FATAL.format(s=3, n=3, line=3))
    [event] = poll_all(ldb, lsettings, T0 + timedelta(seconds=20))
    assert event.payload["line"] == 3


def test_a_password_quoted_in_a_log_line_is_not_stored(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    append(
        logs_dir / "php_errors.log",
        "PHP Fatal error:  Uncaught PDOException: connect failed password=seeded-log-pw-551 "
        "in /var/www/whmcs/init.php:9\n",
    )
    poll_all(ldb, lsettings, T0 + timedelta(seconds=10))
    with ldb.read() as conn:
        stored = str(conn.exec_driver_sql("SELECT * FROM events").all())
    assert "log.fatal_error" in stored
    assert "seeded-log-pw-551" not in stored


def test_a_burst_far_above_the_usual_growth_rate_is_an_anomaly(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    log = logs_dir / "nginx_error.log"
    moment = T0
    for _ in range(7):
        moment += timedelta(seconds=10)
        append(log, "notice: steady\n" * 20)
        assert poll_all(ldb, lsettings, moment) == []
    append(log, ("notice: error loop " * 20 + "\n") * 2000)
    events = poll_all(ldb, lsettings, moment + timedelta(seconds=10))
    assert kinds(events) == ["log.growth_anomaly"]
    assert events[0].payload["reason"] == "rate"
    assert events[0].labels["log"] == "nginx_error.log"


def test_a_log_past_its_size_limit_is_reported_once_an_hour(
    database_url: str, tmp_path: Path, logs_dir: Path
) -> None:
    settings = _settings(database_url, tmp_path, logs_dir, max_size_mb=0.01)
    database = open_db(settings)
    append(logs_dir / "php_errors.log", "y" * 20_000 + "\n")
    first = poll_all(database, settings, T0)
    again = poll_all(database, settings, T0 + timedelta(minutes=1))
    with database.read() as conn:
        stored = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
    database.dispose()
    assert [e.payload["reason"] for e in first + again] == ["size", "size"]
    assert stored == 1  # the same hour's finding is one event


def test_a_missing_log_is_skipped_until_it_appears(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    (logs_dir / "nginx_error.log").unlink()
    assert poll_all(ldb, lsettings, T0 + timedelta(seconds=10)) == []


def test_slow_queries_in_the_mysql_slow_log_become_metric_samples(
    database_url: str, tmp_path: Path, logs_dir: Path
) -> None:
    slow = logs_dir / "mysql-slow.log"
    slow.write_text("")
    settings = files_settings(
        database_url, tmp_path, logs={"sources": [{"path": str(slow), "kind": "mysql_slow"}]}
    )
    database = open_db(settings)
    poll_all(database, settings, T0)
    append(
        slow,
        "# Time: 2026-11-27T10:00:01\n# Query_time: 3.5  Lock_time: 0.0 Rows_sent: 1\n"
        "SELECT * FROM tblinvoices;\n# Query_time: 12.25  Lock_time: 0.1 Rows_sent: 9\n"
        "SELECT * FROM tblhosting;\n",
    )
    events = poll_all(database, settings, T0 + timedelta(seconds=10))
    with database.read() as conn:
        [(_, _, count)] = metrics.latest(conn, "files.mysql_slow_queries")
        [(_, _, slowest)] = metrics.latest(conn, "files.mysql_slow_query_max_seconds")
    database.dispose()
    assert events == []  # slow queries are not fatal errors
    assert (count, slowest) == (2.0, 12.25)


def test_an_unreadable_log_is_warned_about_once_and_the_other_logs_are_still_followed(
    database_url: str, tmp_path: Path, logs_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = logs_dir / "error.log"
    blocked.mkdir()  # as unreadable as a root:adm 0640 log is to an unprivileged monitor
    php = logs_dir / "php_errors.log"
    settings = files_settings(
        database_url,
        tmp_path,
        logs={"sources": [{"path": str(blocked), "kind": "webserver"}, {"path": str(php)}]},
    )
    database = open_db(settings)
    (unreadable,) = poll_all(database, settings, T0)
    assert unreadable.kind == "log.unreadable" and unreadable.labels["log"] == "error.log"
    append(php, FATAL.format(s=5, n=1, line=42))
    with caplog.at_level("WARNING", logger="whmcs_monitor.files.logs"):
        events = poll_all(database, settings, T0 + timedelta(seconds=10))
        append(php, FATAL.format(s=6, n=2, line=43))
        later = poll_all(database, settings, T0 + timedelta(seconds=20))
    blocked.rmdir()
    blocked.write_text("")
    poll_all(database, settings, T0 + timedelta(seconds=30))
    append(blocked, PDO)
    recovered = poll_all(database, settings, T0 + timedelta(seconds=40))
    database.dispose()
    assert [e.payload["line"] for e in events + later] == [42, 43]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert f"cannot read log {blocked}: it is not a regular file" in warnings[0]
    assert [e.payload["error_type"] for e in recovered] == ["Database error"]


def test_a_copytruncate_followed_by_a_longer_line_is_read_from_the_top(
    ldb: Database, lsettings: Settings, logs_dir: Path
) -> None:
    log = logs_dir / "php_errors.log"
    append(log, FATAL.format(s=1, n=1, line=1))
    poll_all(ldb, lsettings, T0 + timedelta(seconds=10))
    log.write_text(FATAL.format(s=2, n=2, line=2).replace("whmcs_gw_2", "whmcs_gw_long" * 9))
    assert [e.payload["line"] for e in poll_all(ldb, lsettings, T0 + timedelta(seconds=20))] == [2]
    append(log, FATAL.format(s=3, n=3, line=3))
    assert [e.payload["line"] for e in poll_all(ldb, lsettings, T0 + timedelta(seconds=30))] == [3]


def test_a_line_longer_than_max_read_bytes_is_skipped_once_not_waited_for(
    database_url: str, tmp_path: Path, logs_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = logs_dir / "php_errors.log"
    settings = files_settings(
        database_url, tmp_path, logs={"max_read_bytes": 4096, "sources": [{"path": str(log)}]}
    )
    database = open_db(settings)
    poll_all(database, settings, T0)
    append(log, "x" * 6000)  # still being written at the next poll
    moments = iter(T0 + timedelta(seconds=10 * n) for n in range(1, 10))
    with caplog.at_level("WARNING", logger="whmcs_monitor.files.logs"):
        assert poll_all(database, settings, next(moments)) == []
        append(log, "y" * 6000 + "\n" + FATAL.format(s=1, n=1, line=7))
        lines = [
            e.payload["line"] for _ in range(3) for e in poll_all(database, settings, next(moments))
        ]
    database.dispose()
    assert lines == [7]
    assert [r.getMessage() for r in caplog.records].count(
        f"log {log}: skipped a line longer than files.logs.max_read_bytes (4096 bytes) at byte 50"
    ) == 1
