"""Every error whmcs-monitor raises on purpose, in one place.

The hierarchy::

    MonitorError                  base; its message is shown to the user as is
    ├── ConfigError               the config file or environment is invalid (carries every problem)
    ├── CatalogError              the event catalog data file is inconsistent
    ├── StoreError                the database cannot be reached or is not migrated
    └── InputError                a client sent something we refuse (HTTP 4xx, CLI usage)

Library errors are translated at the boundary (``raise ConfigError(...) from exc``) so that a
user never sees a stack trace for a problem they can fix.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class: the message is plain, specific and actionable."""


class ConfigError(MonitorError):
    """The configuration is invalid; ``problems`` lists each one as ``path: reason``."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source} has {len(problems)} problem(s):\n" + "\n".join(problems))


class CatalogError(MonitorError):
    """The event catalog contradicts itself (a duplicate name, an unknown category...)."""


class StoreError(MonitorError):
    """The database is unreachable, or its schema is not the one this version expects."""


class InputError(MonitorError):
    """A client's request is wrong; ``status`` is the HTTP status that says how.

    ``reason`` is a short stable code (``body_too_large``, ``bad_json``...) for counting
    rejections, where the message is for the person who sent the request.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 422,
        field: str | None = None,
        reason: str = "invalid",
    ) -> None:
        self.status = status
        self.field = field
        self.reason = reason
        super().__init__(message)
