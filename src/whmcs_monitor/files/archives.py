"""Read a backup to its end to prove it would restore: gzip, tar, zip and mysqldump files.

Each test reads every byte (a gzip's CRC and length are only checked at the end; a truncated tar
fails on its last member), so a check costs one sequential read of the backup. A SQL dump must
also end with mysqldump's ``-- Dump completed`` trailer, which a killed dump never writes.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024
TRAILER = b"-- Dump completed"
_CREATE_TABLE = re.compile(rb"^CREATE TABLE ", re.M)
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


@dataclass(frozen=True, slots=True)
class ArchiveCheck:
    ok: bool
    reason: str = ""
    tables: int | None = None  # CREATE TABLE statements, for SQL dumps


def _open_stream(path: Path) -> io.BufferedIOBase:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def _check_stream(path: Path, *, sql: bool) -> ArchiveCheck:
    tables = 0
    tail = b""
    total = 0
    with _open_stream(path) as stream:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
            if sql:
                window = tail + chunk
                tables += len(_CREATE_TABLE.findall(window)) - len(_CREATE_TABLE.findall(tail))
                tail = window[-4096:]
    if total == 0:  # gzip reads an empty file, or a compressed empty stream, without error
        return ArchiveCheck(False, "it decompresses to nothing", 0 if sql else None)
    if sql and TRAILER not in tail:
        return ArchiveCheck(False, "the SQL dump has no '-- Dump completed' trailer", tables)
    return ArchiveCheck(True, tables=tables if sql else None)


EMPTY_ARCHIVE = ArchiveCheck(False, "the archive holds no files")


def _check_tar(path: Path) -> ArchiveCheck:
    members = 0
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            members += 1
            handle = archive.extractfile(member)
            if handle is not None:
                while handle.read(CHUNK):
                    pass
    return ArchiveCheck(True) if members else EMPTY_ARCHIVE


def _check_zip(path: Path) -> ArchiveCheck:
    with zipfile.ZipFile(path) as archive:
        if not archive.infolist():
            return EMPTY_ARCHIVE
        bad = archive.testzip()
    return ArchiveCheck(False, f"member {bad} fails its CRC") if bad else ArchiveCheck(True)


def check_archive(path: Path) -> ArchiveCheck:
    """Read ``path`` fully by its type; never raises for a damaged file, only reports it."""
    name = path.name.lower()
    try:
        if path.stat().st_size == 0:
            return ArchiveCheck(False, "the file is empty (0 bytes)")
        if name.endswith(_TAR_SUFFIXES):
            return _check_tar(path)
        if name.endswith(".zip"):
            return _check_zip(path)
        is_sql = ".sql" in name
        if is_sql or name.endswith((".gz", ".bz2", ".xz")):
            return _check_stream(path, sql=is_sql)
        return ArchiveCheck(True)
    except (
        EOFError,
        OSError,
        tarfile.TarError,
        zipfile.BadZipFile,
        zlib.error,
        lzma.LZMAError,
    ) as exc:
        return ArchiveCheck(False, f"unreadable: {exc}")
