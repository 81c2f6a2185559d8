"""events.seq never reused on SQLite: the table is rebuilt with AUTOINCREMENT

Without it SQLite numbers a new row max(seq) + 1, so after an erasure or a retention purge deleted
the newest events, the next ones got seqs a pipeline cursor had already passed and were never
evaluated. PostgreSQL's sequence never goes back, so there is nothing to do there.

The rebuild keeps every row, seq and index. The counter starts at the highest seq any cursor
holds if that is past the newest row: seqs deleted before this migration are not handed out again.

Revision ID: 0005_events_seq_autoincrement
Revises: 0004_audit_head
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_events_seq_autoincrement"
down_revision = "0004_audit_head"
branch_labels = None
depends_on = None


def _rebuild_events(*, autoincrement: bool) -> None:
    with op.batch_alter_table(
        "events", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    _rebuild_events(autoincrement=True)
    handed_out = bind.scalar(
        sa.text(
            "SELECT max(coalesce((SELECT max(seq) FROM events), 0), "
            "coalesce((SELECT max(position) FROM pipeline_cursors), 0))"
        )
    )
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'events'"))
    bind.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', :seq)"),
        {"seq": handed_out},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_events(autoincrement=False)
