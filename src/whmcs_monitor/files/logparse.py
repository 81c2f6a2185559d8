"""Recognize fatal PHP errors and database errors in log lines, and fingerprint them.

A fingerprint groups "the same error again": the error type, the message with its variable parts
(numbers, quoted values, addresses, ids) replaced by placeholders, and the file:line it came from.
Each part is kept in the event so an operator can see why two lines were grouped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_MESSAGE = 500

_PHP_FATAL = re.compile(
    r"PHP (?P<type>Fatal error|Parse error|Catchable fatal error|Recoverable fatal error)"
    r":\s+(?P<msg>.+)"
)
_WHERE = re.compile(r"^(?P<msg>.+?) in (?P<file>/[^\s:\"]+)(?: on line |:)(?P<line>\d+)")
_DB_ERROR = re.compile(
    r"SQLSTATE\[[0-9A-Z]+\]|MySQL server has gone away|Too many connections|Deadlock found"
    r"|Lost connection to MySQL|Can't connect to (?:local )?MySQL|\[ERROR\] (?:InnoDB|mysqld)",
    re.I,
)
_SECRET = re.compile(
    r"(?P<key>password|passwd|pwd|secret|token|api_?key|cc_encryption_hash)"
    r"(?P<sep>['\"]?\s*(?:=>|=|:)\s*)(?P<value>'[^']*'|\"[^\"]*\"|[^\s,;)]+)",
    re.I,
)
_VARIABLE_PARTS = (
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'?'"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "UUID"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "IP"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "HEX"),
    (re.compile(r"\d+"), "N"),
)


@dataclass(frozen=True, slots=True)
class LogError:
    error_type: str
    message: str
    file: str
    line: int | None
    normalized: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "?"

    @property
    def fingerprint(self) -> str:
        basis = f"{self.error_type}\0{self.normalized}\0{self.where}"
        return hashlib.sha256(basis.encode()).hexdigest()[:16]


def scrub(text: str) -> str:
    """Mask ``password=...``-style values: a log line may quote a DSN or a form field."""
    return _SECRET.sub(lambda m: f"{m['key']}{m['sep']}[redacted]", text)


def normalize(message: str) -> str:
    for regex, placeholder in _VARIABLE_PARTS:
        message = regex.sub(placeholder, message)
    return re.sub(r"\s+", " ", message).strip()


def parse_line(text: str) -> LogError | None:
    """The fatal or database error on this line, or None for anything else."""
    php = _PHP_FATAL.search(text)
    db = _DB_ERROR.search(text)
    if not php and not db:
        return None
    body = php["msg"] if php else text[db.start() :] if db else text
    where = _WHERE.match(body)
    message = where["msg"] if where else body
    message = scrub(message.strip().rstrip('",'))[:MAX_MESSAGE]
    error_type = "Database error" if db else (php["type"] if php else "Error")
    return LogError(
        error_type=f"PHP {error_type}" if php and not db else error_type,
        message=message,
        file=where["file"] if where else "",
        line=int(where["line"]) if where else None,
        normalized=normalize(message),
    )
