"""What every command of ``whmcs-monitor`` shares: consoles, the config context, error handling.

The parts' command groups (``alerting/cli.py``, ``checks/cli.py``...) import from here, and
``cli.py`` imports their groups, so the tree of commands is assembled without an import cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from whmcs_monitor.config import Settings, check_http_url, config_path, load_settings
from whmcs_monitor.errors import MonitorError
from whmcs_monitor.lib.durations import parse_duration
from whmcs_monitor.store.db import Database

P = ParamSpec("P")
R = TypeVar("R")
out = Console(soft_wrap=True)
# The id of a stored row (alert, silence, client...): the store's ids are 64-bit, and a larger
# number is a usage error rather than an OverflowError from the database driver.
ROW_ID = click.IntRange(1, 2**63 - 1)
# Options like --since and --for count from now; a century is more than any store holds, and
# now plus or minus it is always a date (a span of 9999 years is not).
LONGEST_SPAN = timedelta(days=36_500)
err = Console(stderr=True, soft_wrap=True)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Domain errors become one plain line on stderr and exit status 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MonitorError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


class Context:
    """The ``--config`` path and what it opens, created once per invocation."""

    def __init__(self, config: str | None = None) -> None:
        self.path = config_path(config)

    def settings(self) -> Settings:
        return load_settings(self.path)

    @contextmanager
    def database(self) -> Iterator[tuple[Settings, Database]]:
        settings = self.settings()
        db = Database(settings.database_url, pool_size=settings.database.pool_size)
        try:
            db.migrate()
            yield settings, db
        finally:
            db.dispose()


pass_ctx = click.make_pass_decorator(Context)


def _use_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).path = config_path(value)


def accept_config_everywhere(command: click.Command) -> None:
    """Give ``command`` and every command under it the same ``--config PATH`` option.

    The brief promises ``--config`` on every command, so ``whmcs-monitor events --config c.yaml``
    works as well as ``whmcs-monitor --config c.yaml events``; the last one given wins. Without
    it, ``WHMCS_MONITOR_CONFIG`` or data/config.yaml is used (see :func:`config_path`).
    """
    command.params.append(
        click.Option(
            ["--config"],
            metavar="PATH",
            expose_value=False,
            callback=_use_config,
            help="Config file [default: data/config.yaml; env WHMCS_MONITOR_CONFIG].",
        )
    )
    for sub in getattr(command, "commands", {}).values():
        accept_config_everywhere(sub)


def http_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Callback of a ``--url`` option: the config's URL check, as a usage error."""
    if value is None:
        return None
    try:
        return check_http_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def span_option(value: str, hint: str) -> timedelta:
    """The duration an option like ``--since 10m`` gives; bad text or a huge span is a usage
    error that names the option, never an OverflowError from the date arithmetic after it."""
    try:
        span = parse_duration(value)
    except (ValueError, OverflowError) as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from exc
    if span > LONGEST_SPAN:
        raise click.BadParameter(
            f"{value!r} is too long; the longest is {LONGEST_SPAN.days}d (about 100 years)",
            param_hint=hint,
        )
    return span


def emit_json(document: Any) -> None:
    """The one JSON document ``--json`` prints on stdout."""
    click.echo(json.dumps(document, indent=2, default=str))


def add_text_row(table: Table, *cells: object) -> None:
    """Add a row shown exactly as stored: a WHMCS client named ``[/]`` or ``[link=...]`` is text.

    ``Table.add_row`` reads plain strings as rich markup, which stored data must never be.
    """
    table.add_row(*(Text(str(cell)) for cell in cells))
