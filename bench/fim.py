"""FIM benchmark: whmcs-monitor's baseline and no-change re-scan against AIDE, in the same run.

It generates a WHMCS-shaped tree (default 20,000 files, 500 MB: many small PHP files plus some
large vendor blobs), reads it once so both tools start from a warm page cache, then times:

- ``fim baseline`` (walk + sha256 of every file + store) vs ``aide --init`` with an equivalent
  rule set (sha256 + permissions + size);
- a no-change ``fim scan`` (stat only; nothing re-hashed) vs ``aide --check``;
- a forced full re-hash scan, as a second baseline that shows what incremental scanning saves.

Targets (from the issue): baseline <= 1.0x AIDE's init; no-change re-scan <= 0.2x AIDE's check.
AIDE comes from Debian's package (``apt-get install aide``); without it only our figures print.

    python bench/fim.py [--files 20000] [--total-mb 500] [--workers 2] [--time-limit 300]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from files_fixtures import build_whmcs_tree, files_settings, open_db
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.files import fim

BIG_FILES = 100  # vendor blobs carrying most of the bytes, as bundled libraries and phars do


def make_tree(root: Path, files: int, total_mb: int) -> tuple[int, int]:
    """A WHMCS tree padded to ``files`` files and ``total_mb`` MB; returns (files, bytes)."""
    build_whmcs_tree(root)
    small = max(files - BIG_FILES, 0)
    total = total_mb * 1024 * 1024
    small_size = max(min(total // 5 // max(small, 1), 64 * 1024), 64)
    big_size = max((total - small * small_size) // BIG_FILES, 1)
    block = os.urandom(1024 * 1024)
    for index in range(small):
        directory = root / f"vendor/pkg{index // 500}/src"
        if index % 500 == 0:
            directory.mkdir(parents=True, exist_ok=True)
        head = b"<?php // %d\n" % index
        (directory / f"File{index}.php").write_bytes(head + block[: small_size - len(head)])
    (root / "vendor/blobs").mkdir(parents=True, exist_ok=True)
    for index in range(BIG_FILES):
        head = b"blob %d\n" % index
        with open(root / f"vendor/blobs/blob{index}.phar", "wb") as handle:
            handle.write(head)
            remaining = big_size - len(head)
            while remaining > 0:
                handle.write(block[:remaining])
                remaining -= len(block)
    count = sum(len(names) for _, _, names in os.walk(root))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return count, size


def warm(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                while handle.read(1024 * 1024):
                    pass


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def aide_config(workdir: Path, root: Path, workers: int, version: str) -> Path:
    lines = [
        f"database_in=file:{workdir}/aide.db",
        f"database_out=file:{workdir}/aide.db.new",
        "gzip_dbout=no",
        "report_url=stdout",
        "FIMRULE = p+u+g+s+sha256",
        f"{root} FIMRULE",
    ]
    if workers > 1 and not version.startswith(("0.16", "0.17")):
        lines.insert(0, f"num_workers={workers}")
    path = workdir / "aide.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_aide(aide: str, config: Path, mode: str, limit: float) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [aide, f"--config={config}", mode], capture_output=True, timeout=limit, check=False
    )
    elapsed = time.perf_counter() - start
    # --check exits non-zero when it finds differences (1-7); 14+ are errors.
    if proc.returncode >= 14:
        raise SystemExit(f"aide {mode} failed ({proc.returncode}): {proc.stderr.decode()[:500]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--total-mb", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=300, help="Per AIDE run, seconds.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fim-bench-"))
    try:
        root = work / "whmcs"
        files, size = make_tree(root, args.files, args.total_mb)
        print(f"tree: {files} files, {size / 1e6:.0f} MB at {root}")
        warm(root)
        load_catalog()  # parsed once per process; not part of a scan's cost
        settings = files_settings(f"sqlite:///{work / 'monitor.db'}", root)
        settings.files.fim.hash_workers = args.workers
        db = open_db(settings)

        ours_init, report = timed(lambda: fim.baseline(db, settings, actor="bench"))
        ours_check, rescan = timed(lambda: fim.scan(db, settings))
        ours_full, _ = timed(
            lambda: fim.scan(db, settings, prepared=fim.plan(db, settings, rehash_all=True))
        )
        db.dispose()
        print(f"\nwhmcs-monitor ({args.workers} hash workers, SQLite store)")
        print(f"  baseline            {ours_init:7.2f} s  {report.files / ours_init:9.0f} files/s")
        print(
            f"  no-change re-scan   {ours_check:7.2f} s  {rescan.files / ours_check:9.0f} files/s"
            f"  (re-hashed {rescan.hashed})"
        )
        print(f"  full re-hash scan   {ours_full:7.2f} s  (what the stat check saves)")
        print(f"  incremental / full  {ours_check / ours_full:7.2f}x")

        aide = shutil.which("aide")
        if aide is None:
            print("\nAIDE not installed (apt-get install aide): no comparison in this run.")
            return
        version = subprocess.run([aide, "--version"], capture_output=True, text=True).stdout
        version = (version.split() or ["?"])[1] if "AIDE" in version else "?"
        config = aide_config(work, root, args.workers, version)
        aide_init = run_aide(aide, config, "--init", args.time_limit)
        os.replace(work / "aide.db.new", work / "aide.db")
        with open(work / "aide.db", "rb") as handle:
            entries = sum(1 for line in handle if line.startswith(str(root).encode()))
        if entries < files:
            raise SystemExit(f"AIDE recorded {entries} of {files} files; check its rule set")
        aide_check = run_aide(aide, config, "--check", args.time_limit)
        print(f"\nAIDE {version} (p+u+g+s+sha256, {entries} database entries)")
        print(f"  --init              {aide_init:7.2f} s  {files / aide_init:9.0f} files/s")
        print(f"  --check             {aide_check:7.2f} s  {files / aide_check:9.0f} files/s")
        init_ratio, check_ratio = ours_init / aide_init, ours_check / aide_check
        print("\nratios (ours / AIDE)")
        print(
            f"  baseline vs --init  {init_ratio:5.2f}x  target <= 1.0x  "
            f"{'MET' if init_ratio <= 1.0 else 'MISSED'}"
        )
        print(
            f"  re-scan vs --check  {check_ratio:5.2f}x  target <= 0.2x  "
            f"{'MET' if check_ratio <= 0.2 else 'MISSED'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
