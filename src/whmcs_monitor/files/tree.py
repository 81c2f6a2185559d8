"""Walk the WHMCS tree: which files are in scope, their stat, and their sha256.

The walk uses ``lstat`` and never follows symbolic links, so a link cannot pull files from outside
the root into the baseline (or loop); a link is an entry of its own, whose "content" is its target
text (PHP follows links, so ``includes/hooks/x.php -> /tmp/shell.php`` runs on every page).
Hashing runs on a small thread pool: ``hashlib`` releases the GIL while digesting, so two workers
use two cores.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from whmcs_monitor.files.globs import GlobSet

CHUNK = 1024 * 1024
_ESCAPE = re.compile(rb"\\(\\|x[0-9a-f]{2})")


@dataclass(frozen=True, slots=True)
class FileStat:
    """What ``lstat`` says about one file, by its root-relative :func:`path_key`."""

    path: str
    size: int
    mode: int
    uid: int
    gid: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    link: str | None = None  # a symbolic link's target (a path_key form), not followed

    @classmethod
    def of(cls, relpath: str, st: os.stat_result, *, link: str | None = None) -> FileStat:
        return cls(
            relpath,
            st.st_size,
            stat.S_IMODE(st.st_mode),
            st.st_uid,
            st.st_gid,
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_ino,
            link,
        )

    def content_signature(self) -> tuple[int, int, int, int]:
        """Changes whenever the content may have: ctime moves even when an attacker resets
        mtime with ``touch -r``, so a file whose signature is unchanged needs no re-hash."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.ino)


class Scope:
    """The include and exclude globs together: is this relative path part of the baseline?"""

    def __init__(self, include: Iterable[str], exclude: Iterable[str]) -> None:
        self.include = GlobSet(include)
        self.exclude = GlobSet(exclude)

    def wants(self, relpath: str) -> bool:
        return self.include.match(relpath) and not self.exclude.match(relpath)

    def enters(self, reldir: str) -> bool:
        return self.include.could_contain(reldir) and not self.exclude.match(reldir + "/")


def relative(root: Path, path: Path | str) -> str:
    """``path`` (absolute, or relative to the root) as a root-relative ``/`` path."""
    full = Path(path)
    if not full.is_absolute():
        full = root / full
    rel = os.path.relpath(os.path.normpath(full), root)
    if rel == "." or rel.startswith(".."):
        return "" if rel == "." else rel
    return rel.replace(os.sep, "/")


def path_key(fs_relpath: str) -> str:
    """The form a relative path is stored, matched and shown in.

    A file name need not be UTF-8: ``os.scandir`` hands such a name over with surrogate escapes,
    which no database, JSON document or hash input accepts, so one odd name used to fail every
    scan. Here bytes that are not UTF-8 become ``\\xNN`` and a backslash becomes two, which keeps
    the mapping one-to-one (:func:`fs_relpath` reverses it) and leaves ordinary names unchanged.
    """
    raw = os.fsencode(fs_relpath).replace(b"\\", b"\\\\")
    return raw.decode("utf-8", "backslashreplace")


def fs_relpath(key: str) -> str:
    """The file-system name (with surrogate escapes) of a :func:`path_key`."""
    if "\\" not in key:
        return key
    raw = _ESCAPE.sub(
        lambda m: b"\\" if m[1] == b"\\" else bytes([int(m[1][1:], 16)]), key.encode()
    )
    return os.fsdecode(raw)


def fs_path(root: Path, key: str) -> Path:
    return root / fs_relpath(key) if key else root


def undecodable(key: str) -> bool:
    """Is the file's real name not valid UTF-8? Legitimate WHMCS files never are."""
    try:
        fs_relpath(key).encode()
    except UnicodeEncodeError:
        return True
    return False


def _entry(root: Path, rel: str, st: os.stat_result) -> FileStat | None:
    """A regular file, or a symbolic link recorded as itself (its target text, its ``lstat``)."""
    if stat.S_ISREG(st.st_mode):
        return FileStat.of(rel, st)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(fs_path(root, rel))
        except OSError:
            return None  # replaced since the lstat; the next scan sees what it became
        return FileStat.of(rel, st, link=path_key(target))
    return None


def walk(root: Path, scope: Scope, start: str = "") -> Iterator[FileStat]:
    """Every regular file and symbolic link in scope under ``root/start`` (``start`` may name a
    single one). Links are never followed: PHP follows them, so each is an entry of its own.

    ``start`` and the paths of the results are :func:`path_key` forms.
    """
    try:
        st = os.lstat(fs_path(root, start))
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        item = _entry(root, start, st)
        if item is not None and scope.wants(start):
            yield item
        return
    stack = [start]
    while stack:
        reldir = stack.pop()
        try:
            entries = list(os.scandir(fs_path(root, reldir)))
        except (PermissionError, FileNotFoundError):
            continue  # vanished or unreadable mid-walk; the next scan sees it again
        for entry in entries:
            name = path_key(entry.name)
            rel = f"{reldir}/{name}" if reldir else name
            try:
                est = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(est.st_mode):
                if scope.enters(rel):
                    stack.append(rel)
            elif scope.wants(rel) and (item := _entry(root, rel, est)) is not None:
                yield item


def open_regular(path: Path, *, follow: bool = False) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file: never block on a FIFO, and unless
    ``follow`` never read through a link swapped in since the walk (a link loop fails here)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def sha256_file(path: Path, max_bytes: int) -> str | None:
    """The file's sha256, or None when it vanished or cannot be read (recorded as unreadable)."""
    digest = hashlib.sha256()
    remaining = max_bytes
    try:
        with open_regular(path) as handle:
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                digest.update(chunk)
                remaining -= len(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def digest(root: Path, item: FileStat, max_bytes: int) -> str | None:
    """A link's "content" is its target text, so pointing it elsewhere is a modification."""
    if item.link is not None:
        return hashlib.sha256(b"symlink\0" + item.link.encode()).hexdigest()
    return sha256_file(fs_path(root, item.path), max_bytes)


def hash_many(
    root: Path,
    files: list[FileStat],
    *,
    workers: int,
    max_bytes: int,
    progress: Callable[[int], None] | None = None,
) -> dict[str, str | None]:
    """Hash ``files`` on ``workers`` threads; ``progress`` is told the bytes of each file done.

    Each thread takes an interleaved share of the list (one task per thread, not per file: a
    future per file costs more than hashing a small PHP file).
    """

    def share(items: list[FileStat]) -> list[tuple[str, str | None]]:
        done = []
        for item in items:
            done.append((item.path, digest(root, item, max_bytes)))
            if progress:
                progress(item.size)
        return done

    count = max(1, min(workers, len(files)))
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = pool.map(share, [files[i::count] for i in range(count)])
        return {path: digest for part in results for path, digest in part}
