"""The ``files:`` section: the WHMCS tree to baseline, the logs to follow, the backups to check."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from whmcs_monitor.lib.durations import parse_duration

# What WHMCS's own docs tell operators to protect, plus the PHP files of the web root.
DEFAULT_INCLUDE = [
    "configuration.php",
    "*.php",
    ".htaccess",
    "includes/**",
    "modules/**",
    "templates/**",
    "admin/**",
    "vendor/**",
    "lang/**",
    "resources/**",
]
# Smarty's compiled templates (templates_c) are in scope but rewritten whenever a template
# changes: a change to one is reported only when its content is not Smarty's (see classify).
DEFAULT_EXCLUDE = ["**/.git/**", "**/*.log", "**/error_log"]
# Directories WHMCS needs writable; a PHP file appearing there is a possible web shell.
DEFAULT_WRITABLE_DIRS = ["attachments", "downloads", "templates_c", "uploads"]
# What could run in a writable directory (PHP, .htaccess); the uploads themselves stay out.
WRITABLE_DIR_GLOBS = ("**/*.ph*", "**/.htaccess")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError("must be a duration like 30s, 10m, 26h or 7d")


class FimConfig(_Section):
    """File integrity: which files form the baseline and which directories are watched live."""

    include: list[str] = Field(default_factory=lambda: list(DEFAULT_INCLUDE), max_length=500)
    exclude: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDE), max_length=500)
    writable_dirs: list[str] = Field(
        default_factory=lambda: list(DEFAULT_WRITABLE_DIRS), max_length=100
    )
    scan_interval: timedelta = timedelta(hours=1)
    realtime: bool = True
    max_file_bytes: int = Field(default=512 * 1024 * 1024, ge=1024, le=64 * 1024**3)
    hash_workers: int = Field(default=2, ge=1, le=32)

    _to_duration = field_validator("scan_interval", mode="before")(_duration)

    @property
    def scope_include(self) -> list[str]:
        """``include`` plus what could run in each writable directory: a directory watched for
        web shells must be in the scan's scope too, whatever ``include`` says."""
        derived = [
            f"{d.strip('/')}/{glob}" for d in self.writable_dirs for glob in WRITABLE_DIR_GLOBS
        ]
        return [*self.include, *derived]

    @field_validator("include", "exclude", "writable_dirs")
    @classmethod
    def _relative(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.strip() or value.startswith("/") or ".." in value.split("/"):
                raise ValueError(f"{value!r} must be a path relative to the WHMCS root")
        return values


class LogSource(_Section):
    """One log to follow; ``kind`` picks the parser, the thresholds bound its growth."""

    path: Path
    kind: Literal["php", "webserver", "mysql_slow", "whmcs"] = "php"
    name: str = ""
    max_size_mb: float = Field(default=512, gt=0, le=1024 * 1024)
    growth_factor: float = Field(default=10.0, ge=1.5, le=10_000)
    min_growth_kb: float = Field(default=256, ge=0)

    @property
    def label(self) -> str:
        return self.name or self.path.name


class LogsConfig(_Section):
    sources: list[LogSource] = Field(default_factory=list, max_length=100)
    poll_interval: timedelta = timedelta(seconds=10)
    # One log.fatal_error event per fingerprint at most this often; the count covers the rest.
    repeat_interval: timedelta = timedelta(minutes=15)
    max_read_bytes: int = Field(default=8 * 1024 * 1024, ge=4096, le=1024**3)

    _to_duration = field_validator("poll_interval", "repeat_interval", mode="before")(_duration)


class BackupSource(_Section):
    """Where one kind of backup lands, and what a healthy newest one looks like."""

    name: str = Field(min_length=1, max_length=64)
    location: Path
    pattern: str = "*"
    max_age: timedelta = timedelta(hours=26)
    max_shrink_percent: float = Field(default=20, gt=0, le=100)
    # For SQL dumps: the number of tables the dump must create, given as a number or taken
    # from the live database of a site (``sites[].database``).
    expect_tables: int | None = Field(default=None, ge=1)
    tables_of_site: str | None = None

    _to_duration = field_validator("max_age", mode="before")(_duration)

    @model_validator(mode="after")
    def _one_table_source(self) -> BackupSource:
        if self.expect_tables is not None and self.tables_of_site is not None:
            raise ValueError("give expect_tables or tables_of_site, not both")
        return self

    @field_validator("pattern")
    @classmethod
    def _no_dirs(cls, value: str) -> str:
        if "/" in value:
            raise ValueError("pattern matches file names in location; put directories there")
        return value


class BackupsConfig(_Section):
    sources: list[BackupSource] = Field(default_factory=list, max_length=100)
    check_interval: timedelta = timedelta(minutes=30)

    _to_duration = field_validator("check_interval", mode="before")(_duration)

    @model_validator(mode="after")
    def _unique_names(self) -> BackupsConfig:
        names = [s.name for s in self.sources]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"backup name {name!r} is used twice")
        return self


class BreachConfig(_Section):
    """Breach indicators read from each site's WHMCS database (``sites[].database``)."""

    enabled: bool = True
    interval: timedelta = timedelta(minutes=1)
    network_prefix_v4: int = Field(default=24, ge=8, le=32)
    network_prefix_v6: int = Field(default=48, ge=16, le=128)
    unusual_hour_min_logins: int = Field(default=20, ge=1, le=100_000)
    failures_before_success: int = Field(default=5, ge=1, le=100_000)
    failure_window: timedelta = timedelta(hours=1)
    api_read_factor: float = Field(default=5.0, ge=1.5, le=10_000)
    api_read_min: int = Field(default=200, ge=1)
    api_learning_hours: int = Field(default=24, ge=1, le=24 * 60)

    _to_duration = field_validator("interval", "failure_window", mode="before")(_duration)


class PrivacyConfig(_Section):
    """Retention of the monitor's own events (GDPR storage limitation)."""

    pseudonymize_after: timedelta = timedelta(days=180)
    purge_after: timedelta = timedelta(days=730)

    _to_duration = field_validator("pseudonymize_after", "purge_after", mode="before")(_duration)

    @model_validator(mode="after")
    def _order(self) -> PrivacyConfig:
        if self.purge_after < self.pseudonymize_after:
            raise ValueError("purge_after: must not be shorter than pseudonymize_after")
        return self


class FilesConfig(_Section):
    """Everything read from the WHMCS host's disk. Empty ``whmcs_root`` turns FIM off."""

    site: str = ""  # the site id events belong to; empty means the first configured site
    whmcs_root: Path | None = None
    fim: FimConfig = Field(default_factory=FimConfig)
    logs: LogsConfig = Field(default_factory=LogsConfig)
    backups: BackupsConfig = Field(default_factory=BackupsConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    breach: BreachConfig = Field(default_factory=BreachConfig)

    @field_validator("whmcs_root")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError("must be an absolute path (the directory holding configuration.php)")
        return value
