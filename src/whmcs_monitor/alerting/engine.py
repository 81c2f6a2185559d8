"""The running alerting engine: consume events, evaluate time-based rules, run the pipeline, deliver.

Events reach the rules only through the pipeline cursor ``alerting``, so alert changes commit
together with the cursor move (exactly once, safe across instances).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Connection

from whmcs_monitor.alerting import pipeline
from whmcs_monitor.alerting.evaluation import Evaluator
from whmcs_monitor.alerting.rules import RuleLoader, RuleSet
from whmcs_monitor.alerting.scope import Mutes
from whmcs_monitor.config import Settings
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.notify import outbox
from whmcs_monitor.notify.templates import render
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.pipeline import consume

log = logging.getLogger(__name__)
CONSUMER = "alerting"
EVENTS_PER_BATCH = 100
MAX_BATCHES_PER_STEP = 20


def rule_loader(settings: Settings) -> RuleLoader:
    files = [p if p.is_absolute() else settings.data_dir / p for p in settings.alerting.rule_files]
    return RuleLoader([Path(f) for f in files], defaults=settings.alerting.default_rules)


class Engine:
    """One per process; several processes may share a database (the cursor and locks arbitrate)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.loader = rule_loader(settings)
        self.rules: RuleSet | None = None
        self.seen_mutes: Mutes | None = None  # what the last committed pass saw
        self.ticked_at: datetime | None = None

    def current_rules(self) -> RuleSet:
        """Reload edited rule files; a broken edit is logged and the last good rules stay in use."""
        try:
            self.rules = self.loader.load()
        except ConfigError as exc:
            if self.rules is None:
                raise
            log.error("keeping the previous rules: %s", exc)
        assert self.rules is not None
        return self.rules

    def step(self, now: datetime | None = None) -> None:
        """Consume new events, then one pipeline pass, in the same transaction once caught up.

        Ingest wakes the engine, so steps can follow each other closely; the time-based rules,
        which read every rule's state, still run once per ``evaluation_interval``.
        """
        evaluator = Evaluator(
            self.current_rules(), resolve_timeout=self.settings.alerting.resolve_timeout
        )
        for _ in range(MAX_BATCHES_PER_STEP):
            # Small batches: on SQLite each one holds the single write lock, and ingest waits
            # for it; a short hold keeps ingest latency flat while a backlog is worked off.
            with self.db.write() as conn:
                consumed = consume(conn, CONSUMER, evaluator.on_events, limit=EVENTS_PER_BATCH)
                if consumed < EVENTS_PER_BATCH:
                    seen = self._pass(conn, evaluator, now or utcnow())
                    break
        else:
            with self.db.write() as conn:
                seen = self._pass(conn, evaluator, now or utcnow())
        self.seen_mutes = seen  # only once the pass has committed

    def _pass(self, conn: Connection, evaluator: Evaluator, now: datetime) -> Mutes:
        if self.ticked_at is None or not (
            timedelta(0) <= now - self.ticked_at < self.settings.alerting.evaluation_interval
        ):
            evaluator.tick(conn, now, sites=[s.id for s in self.settings.sites])
            self.ticked_at = now
        return pipeline.run(conn, self.settings, now, self.seen_mutes)

    def deliver(self, now: datetime | None = None) -> int:
        return outbox.deliver(self.db, self.settings.alerting.receivers, render, now=now)
