"""Alembic environment: always run by Database.migrate() on a connection it provides."""

from __future__ import annotations

from alembic import context

import whmcs_monitor.alerting.tables
import whmcs_monitor.files.tables
import whmcs_monitor.sources.tables  # noqa: F401
from whmcs_monitor.checks import tables as _checks_tables  # noqa: F401
from whmcs_monitor.store.tables import metadata  # parts import their tables modules here too

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
