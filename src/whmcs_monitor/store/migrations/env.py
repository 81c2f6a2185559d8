"""Alembic environment: always run by Database.migrate() on a connection it provides."""

from __future__ import annotations

from alembic import context

# Each part's tables join the shared metadata when its module is imported.
import whmcs_monitor.alerting.tables
import whmcs_monitor.checks.tables
import whmcs_monitor.files.tables
import whmcs_monitor.sources.tables
import whmcs_monitor.store.audit  # audit_head
import whmcs_monitor.web.tables  # noqa: F401
from whmcs_monitor.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
