"""The files part's tables: the FIM baseline and the state of log followers and other checks."""

from __future__ import annotations

import sqlalchemy as sa

from whmcs_monitor.store.tables import Json, UtcDateTime, metadata

# One row per file ever seen under the WHMCS root. ``base_*`` is the accepted state (NULL sha256:
# not in the baseline, i.e. added); ``seen_*`` is the state the last scan observed (NULL sha256:
# the file is gone). A scan reports a change once, when ``seen_*`` moves; ``accept`` copies
# ``seen_*`` into ``base_*``.
file_baseline = sa.Table(
    "file_baseline",
    metadata,
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("base_sha256", sa.String(64), nullable=True),
    sa.Column("base_size", sa.BigInteger, nullable=True),
    sa.Column("base_mode", sa.Integer, nullable=True),
    sa.Column("base_uid", sa.Integer, nullable=True),
    sa.Column("base_gid", sa.Integer, nullable=True),
    sa.Column("base_mtime_ns", sa.BigInteger, nullable=True),
    sa.Column("seen_sha256", sa.String(64), nullable=True),
    sa.Column("seen_size", sa.BigInteger, nullable=True),
    sa.Column("seen_mode", sa.Integer, nullable=True),
    sa.Column("seen_uid", sa.Integer, nullable=True),
    sa.Column("seen_gid", sa.Integer, nullable=True),
    sa.Column("seen_mtime_ns", sa.BigInteger, nullable=True),
    sa.Column("seen_ctime_ns", sa.BigInteger, nullable=True),
    sa.Column("seen_ino", sa.BigInteger, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Small per-site state documents: a log follower's inode and offset, a fingerprint's last report,
# an open permission finding. Keyed like ``log:/var/log/php_errors.log``.
files_state = sa.Table(
    "files_state",
    metadata,
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value", Json, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
