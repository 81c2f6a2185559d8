"""Alembic environment: always run by Database.migrate() on a connection it provides."""

from __future__ import annotations

from alembic import context

import whmcs_monitor.alerting.tables  # noqa: F401  (registers the alerting tables)
from whmcs_monitor.checks import tables as _checks_tables  # noqa: F401
from whmcs_monitor.store.tables import metadata  # parts import their tables modules here too
from whmcs_monitor.web import tables as _web_tables  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
