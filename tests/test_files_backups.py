"""Backup checks: missing, stale, shrunk, truncated or corrupt archives and incomplete dumps."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymysql
import pytest

from files_fixtures import files_settings, open_db
from support import SITE_ID, SITE_SECRET, free_port, make_settings, require
from whmcs_monitor.files.archives import check_archive
from whmcs_monitor.files.backups import check_all

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TABLES = ["tblclients", "tblinvoices", "tblhosting", "tbldomains"]


def dump_text(tables: list[str], *, complete: bool = True) -> bytes:
    body = "-- MySQL dump 10.19  Distrib 10.11.6-MariaDB\n"
    for table in tables:
        body += f"CREATE TABLE `{table}` (\n  `id` int(10) NOT NULL\n);\n"
        body += f"INSERT INTO `{table}` VALUES " + ",".join(f"({i})" for i in range(2000)) + ";\n"
    if complete:
        body += "-- Dump completed on 2026-11-27  3:00:01\n"
    return body.encode()


def place(path: Path, content: bytes, *, age: timedelta) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    moment = (NOW - age).timestamp()
    os.utime(path, (moment, moment))
    return path


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    return tmp_path / "backups"


def run(database_url: str, tmp_path: Path, **source: Any) -> list[Any]:
    settings = files_settings(
        database_url, tmp_path, backups={"sources": [{"name": "db", **source}]}
    )
    database = open_db(settings)
    try:
        return check_all(database, settings, NOW)
    finally:
        database.dispose()


@pytest.fixture
def db_backups(backup_dir: Path) -> Iterator[dict[str, Any]]:
    place(backup_dir / "whmcs-1125.sql.gz", gzip.compress(dump_text(TABLES)), age=timedelta(days=2))
    place(backup_dir / "whmcs-1126.sql.gz", gzip.compress(dump_text(TABLES)), age=timedelta(days=1))
    yield {"location": str(backup_dir), "pattern": "whmcs-*.sql.gz", "max_age": "26h"}


def test_a_healthy_newest_dump_raises_nothing(
    database_url: str, tmp_path: Path, db_backups: dict[str, Any]
) -> None:
    assert run(database_url, tmp_path, **db_backups, expect_tables=4) == []


def test_no_matching_backup_is_reported_missing(database_url: str, tmp_path: Path) -> None:
    [event] = run(database_url, tmp_path, location=str(tmp_path / "nowhere"), pattern="*.tgz")
    assert event.kind == "backup.missing"
    assert "nowhere" in event.summary


def test_an_old_newest_backup_is_stale(
    database_url: str, tmp_path: Path, db_backups: dict[str, Any]
) -> None:
    [event] = run(database_url, tmp_path, **{**db_backups, "max_age": "12h"})
    assert event.kind == "backup.stale"
    assert event.payload["file"] == "whmcs-1126.sql.gz"
    assert event.payload["age"] == "1d"


def test_a_truncated_gzip_dump_is_corrupt(
    database_url: str, tmp_path: Path, backup_dir: Path, db_backups: dict[str, Any]
) -> None:
    whole = gzip.compress(dump_text(TABLES))
    place(backup_dir / "whmcs-1127.sql.gz", whole[: len(whole) // 2], age=timedelta(hours=1))
    events = run(database_url, tmp_path, **db_backups)
    reasons = [e.payload["reason"] for e in events]
    assert [e.kind for e in events] == ["backup.corrupt", "backup.corrupt"]
    assert any(r.startswith("unreadable: Compressed file ended") for r in reasons)
    assert any("smaller than the previous backup whmcs-1126.sql.gz" in r for r in reasons)


def test_a_dump_killed_before_its_trailer_is_corrupt(
    database_url: str, tmp_path: Path, backup_dir: Path, db_backups: dict[str, Any]
) -> None:
    place(
        backup_dir / "whmcs-1127.sql.gz",
        gzip.compress(dump_text(TABLES, complete=False)),
        age=timedelta(hours=1),
    )
    [event] = run(database_url, tmp_path, **db_backups)
    assert event.payload["reason"] == "the SQL dump has no '-- Dump completed' trailer"


def test_a_dump_missing_tables_is_corrupt(
    database_url: str, tmp_path: Path, backup_dir: Path, db_backups: dict[str, Any]
) -> None:
    place(
        backup_dir / "whmcs-1127.sql.gz",
        gzip.compress(dump_text([*TABLES[:3], "x"])),
        age=timedelta(hours=1),
    )
    assert run(database_url, tmp_path, **db_backups, expect_tables=4) == []
    place(
        backup_dir / "whmcs-1128.sql.gz",
        gzip.compress(dump_text(TABLES[:3])),
        age=timedelta(minutes=5),
    )
    [event] = run(database_url, tmp_path, **db_backups, expect_tables=4)
    assert event.payload["reason"] == "the dump creates 3 table(s), 4 expected"


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_a_truncated_tar_archive_fails_its_check(tmp_path: Path) -> None:
    content = _tar({"whmcs/configuration.php": os.urandom(200_000), "whmcs/index.php": b"<?php"})
    good = place(tmp_path / "files.tar.gz", content, age=timedelta(0))
    bad = place(tmp_path / "files-cut.tar.gz", content[: len(content) - 5000], age=timedelta(0))
    assert check_archive(good).ok
    assert not check_archive(bad).ok


def test_a_zip_with_a_damaged_member_fails_its_check(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("whmcs/index.php", b"<?php echo 'hello';" * 50)
    data = bytearray(buffer.getvalue())
    data[60] ^= 0xFF  # inside the stored member's bytes
    good = place(tmp_path / "ok.zip", buffer.getvalue(), age=timedelta(0))
    bad = place(tmp_path / "bad.zip", bytes(data), age=timedelta(0))
    assert check_archive(good).ok
    result = check_archive(bad)
    assert not result.ok and "whmcs/index.php" in result.reason


def test_each_bad_backup_is_reported_once_across_checks(
    database_url: str, tmp_path: Path, backup_dir: Path, db_backups: dict[str, Any]
) -> None:
    place(backup_dir / "whmcs-1127.sql.gz", b"not gzip at all" * 100, age=timedelta(hours=1))
    settings = files_settings(
        database_url, tmp_path, backups={"sources": [{"name": "db", **db_backups}]}
    )
    database = open_db(settings)
    first = check_all(database, settings, NOW)
    check_all(database, settings, NOW + timedelta(minutes=30))
    with database.read() as conn:
        count = conn.exec_driver_sql(
            "SELECT count(*) FROM events WHERE kind = 'backup.corrupt'"
        ).scalar()
    database.dispose()
    assert len(first) == 2  # unreadable, and shrunk
    assert count == 2


@pytest.fixture
def whmcs_schema() -> Iterator[str]:
    """A scratch WHMCS-like schema with the four tables of TABLES on the local MariaDB."""
    try:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3)
    except pymysql.MySQLError:
        conn = None
    require(conn is not None, "MariaDB is not reachable at 127.0.0.1:3306")
    assert conn is not None
    name = f"whmcs_fim_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
        for table in TABLES:
            cursor.execute(f"CREATE TABLE `{name}`.`{table}` (id INT PRIMARY KEY)")
    try:
        yield name
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE `{name}`")
        conn.close()


def test_a_dump_with_fewer_tables_than_the_live_database_is_corrupt(
    tmp_path: Path, backup_dir: Path, db_backups: dict[str, Any], whmcs_schema: str
) -> None:
    place(
        backup_dir / "whmcs-1127.sql.gz",
        gzip.compress(dump_text(TABLES[:2])),
        age=timedelta(hours=1),
    )
    settings = make_settings(
        f"sqlite:///{tmp_path / 'monitor.db'}",
        sites=[
            {
                "id": SITE_ID,
                "secret": SITE_SECRET,
                "database": {"name": whmcs_schema, "user": "root"},
            }
        ],
        files={"backups": {"sources": [{"name": "db", **db_backups, "tables_of_site": SITE_ID}]}},
    )
    database = open_db(settings)
    try:
        reasons = [e.payload["reason"] for e in check_all(database, settings, NOW)]
    finally:
        database.dispose()
    assert "the dump creates 2 table(s), 4 expected" in reasons


def test_an_unreachable_live_database_still_lets_the_other_checks_run(
    tmp_path: Path, backup_dir: Path, db_backups: dict[str, Any]
) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'monitor.db'}",
        sites=[
            {
                "id": SITE_ID,
                "secret": SITE_SECRET,
                "database": {"name": "whmcs", "user": "nobody", "port": free_port()},
            }
        ],
        files={
            "backups": {
                "sources": [
                    {"name": "db", **db_backups, "max_age": "1h", "tables_of_site": SITE_ID}
                ]
            }
        },
    )
    database = open_db(settings)
    try:
        kinds = [e.kind for e in check_all(database, settings, NOW)]
    finally:
        database.dispose()
    assert kinds == ["backup.stale"]


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("files-2026.gz", b"", "the file is empty (0 bytes)"),
        ("whmcs.sql.bz2", b"", "the file is empty (0 bytes)"),
        ("files-2026.gz", gzip.compress(b""), "it decompresses to nothing"),
        ("files.tar.gz", _tar({}), "the archive holds no files"),
        ("site.zip", _empty_zip(), "the archive holds no files"),
    ],
)
def test_an_empty_backup_is_corrupt(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    result = check_archive(place(tmp_path / name, content, age=timedelta(0)))
    assert (result.ok, result.reason) == (False, reason)


def test_a_zero_byte_gzip_backup_is_reported_corrupt(
    database_url: str, tmp_path: Path, backup_dir: Path
) -> None:
    place(backup_dir / "files-2026.gz", b"", age=timedelta(hours=1))
    [event] = run(database_url, tmp_path, location=str(backup_dir), pattern="*.gz")
    assert event.kind == "backup.corrupt"
    assert "empty" in event.summary
