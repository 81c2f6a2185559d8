"""The durable store: tables, migrations, the group-commit writer and the pipeline cursors."""

from whmcs_monitor.store.db import Database

__all__ = ["Database"]
