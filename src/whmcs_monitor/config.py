"""The configuration: one YAML file, validated by pydantic, overridable from the environment.

Precedence, highest first: ``WHMCS_MONITOR_<SECTION>__<KEY>`` environment variables (lists and
mappings as JSON), then the YAML file, then the defaults here. Secrets may come from the file, from
another environment variable (``secret_env``) or from a file (``secret_file``); they are held as
``SecretStr`` and never printed.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from whmcs_monitor.alerting.config import AlertingConfig
from whmcs_monitor.analytics.config import AnalyticsConfig
from whmcs_monitor.checks.config import ChecksConfig
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.files.config import FilesConfig
from whmcs_monitor.lib.yamltext import parse_yaml
from whmcs_monitor.sources.config import PollerConfig
from whmcs_monitor.web.config import WebConfig

ENV_PREFIX = "WHMCS_MONITOR_"
DEFAULT_CONFIG_PATH = Path("data/config.yaml")
SITE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MIN_SECRET_LENGTH = 32
STORE_BACKENDS = ("sqlite", "postgresql")
# The validation context parse_settings() passes: the site ids validated so far, and the
# environment that secret_env names are read from.
SEEN_SITE_IDS = "site_ids"
ENVIRON = "environ"


def check_http_url(value: str) -> str:
    """``value`` if it is an http:// or https:// URL with a host; else a ValueError.

    The message never repeats the URL: it may carry a password (``https://user:pw@host``).
    """
    try:
        port = urlsplit(value).port  # a port that is not a number from 0 to 65535 raises
    except ValueError:
        raise ValueError("is not a valid URL (check the host and the port)") from None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", value):
        raise ValueError("must be an http:// or https:// URL with a host, like https://example.com")
    if port == 0:
        raise ValueError("is not a valid URL: the port must be between 1 and 65535")
    return value


HttpUrl = Annotated[str, AfterValidator(check_http_url)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: HttpUrl | None = None
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    # False makes an ingest-only node: it stores what it receives and serves the API, while
    # other instances on the same PostgreSQL run the pipeline, checks and pollers.
    run_workers: bool = True


class DatabaseConfig(_Section):
    """``url`` is a SQLAlchemy URL; empty means the embedded SQLite file in the data directory."""

    url: str = ""
    pool_size: int = Field(default=5, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        """Refuse what the store could not open, in words that never repeat the URL (it may
        hold a password)."""
        if not value:
            return value
        try:
            url = sa.make_url(value)
            port = url.port
        except (sa.exc.ArgumentError, ValueError):
            raise ValueError(
                "is not a database URL; write postgresql://user:password@host:5432/name "
                "or sqlite:////absolute/path/monitor.db"
            ) from None
        if url.get_backend_name() not in STORE_BACKENDS:
            raise ValueError(
                f"{url.get_backend_name()!r} databases are not supported; use postgresql:// "
                "or sqlite://"
            )
        if port is not None and not 1 <= port <= 65535:
            raise ValueError("the port must be between 1 and 65535")
        return value


class IngestConfig(_Section):
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_events: int = Field(default=500, ge=1, le=100_000)
    max_depth: int = Field(default=32, ge=2, le=256)
    max_string_bytes: int = Field(default=64 * 1024, ge=256, le=16 * 1024 * 1024)
    clock_skew_seconds: int = Field(default=300, ge=5, le=3600)
    auth_failure_event_interval_seconds: int = Field(default=60, ge=1, le=86400)


class _Secreted(_Section):
    """A section holding one secret, given inline, by environment variable or by file.

    Every check is a field validator on ``secret`` (declared last, so pydantic has validated
    the other two when it runs): unlike a model validator, it runs, and reports, even when
    another field of the section is wrong.
    """

    secret_required: ClassVar[bool] = False
    secret_env: str | None = None
    secret_file: Path | None = None
    secret: SecretStr | None = Field(default=None, validate_default=True)

    @field_validator("secret")
    @classmethod
    def _resolve_secret(cls, inline: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if "secret_env" not in info.data or "secret_file" not in info.data:
            return inline  # that field is wrong and reported on its own
        env, file = info.data["secret_env"], info.data["secret_file"]
        if sum(x is not None for x in (inline, env, file)) > 1:
            raise ValueError("give only one of secret, secret_env and secret_file")
        if env is not None:
            value, origin = _secret_from_env(env, info), f" (from secret_env {env})"
        elif file is not None:
            value, origin = _secret_from_file(file), f" (from secret_file {file})"
        elif inline is not None:
            value, origin = inline.get_secret_value(), ""
        elif cls.secret_required:
            raise ValueError("is required (give secret, secret_env or secret_file)")
        else:
            return None
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters{origin}")
        return SecretStr(value)


def _context(info: ValidationInfo, key: str) -> Any:
    return info.context.get(key) if isinstance(info.context, dict) else None


def _secret_from_env(name: str, info: ValidationInfo) -> str:
    environ = _context(info, ENVIRON)
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        raise ValueError(f"secret_env names {name}, which is not set")
    return value


def _secret_from_file(path: Path) -> str:
    try:
        return path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ValueError(f"secret_file {path}: {reason}") from exc


class WhmcsDatabaseConfig(_Section):
    """A read-only MySQL connection to the WHMCS database (used by the poller)."""

    host: str = "127.0.0.1"
    port: int = Field(default=3306, ge=1, le=65535)
    name: str
    user: str
    password: SecretStr | None = None
    password_env: str | None = None
    ssl: bool = False


class WhmcsApiConfig(_Section):
    """WHMCS API credentials, for sites where the database cannot be reached."""

    url: HttpUrl
    identifier: str
    secret: SecretStr


class SiteConfig(_Secreted):
    """One WHMCS installation: its id, its ingest secret and how to reach it."""

    id: str
    name: str = ""
    whmcs_url: HttpUrl | None = None
    database: WhmcsDatabaseConfig | None = None
    api: WhmcsApiConfig | None = None

    secret_required: ClassVar[bool] = True

    @field_validator("id")
    @classmethod
    def _id_shape_and_unique(cls, value: str, info: ValidationInfo) -> str:
        if not SITE_ID_RE.match(value):
            raise ValueError("must be 1-64 lower-case letters, digits, '-' or '_'")
        seen = _context(info, SEEN_SITE_IDS)
        if seen is not None:
            if value in seen:
                raise ValueError(f"{value!r} is used twice")
            seen.add(value)
        return value

    def secret_bytes(self) -> bytes:
        assert self.secret is not None  # guaranteed by secret_required
        return self.secret.get_secret_value().encode("utf-8")


class DemoConfig(_Secreted):
    """The WHMCS traffic simulator shown to a newcomer before a real WHMCS is connected.

    ``whmcs-monitor run`` settles ``auto`` to ``on`` or ``off`` before it serves (see
    :func:`whmcs_monitor.bootstrap.settle_demo`), and ingest accepts the demo site only while it
    is ``on``: a monitor watching a real WHMCS keeps no second site open to forged events.
    """

    enabled: Literal["auto", "on", "off"] = "auto"
    site_id: str = "demo"
    events_per_minute: int = Field(default=240, ge=1, le=60_000)

    @field_validator("enabled", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        """YAML 1.1 reads a bare ``on``/``off`` (and yes/no, true/false) as a boolean."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return value


class Settings(_Section):
    data_dir: Path = Path(".")  # relative to the config file
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    server: ServerConfig = Field(default_factory=ServerConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)
    sites: list[SiteConfig] = Field(default_factory=list)
    poller: PollerConfig = Field(default_factory=PollerConfig)
    files: FilesConfig = Field(default_factory=FilesConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    web: WebConfig = Field(default_factory=WebConfig)

    @field_validator("alerting")
    @classmethod
    def _webhook_urls(cls, alerting: AlertingConfig) -> AlertingConfig:
        """A webhook URL is an http(s) URL (checked here: notify/ holds it as a plain secret)."""
        problems: list[InitErrorDetails] = []
        for index, receiver in enumerate(alerting.receivers):
            if receiver.webhook is None:
                continue
            try:
                check_http_url(receiver.webhook.url.get_secret_value())
            except ValueError as exc:
                problems.append(
                    InitErrorDetails(
                        type=PydanticCustomError("url", str(exc)),
                        loc=("receivers", index, "webhook", "url"),
                        input="",  # the URL is a secret: never part of an error
                    )
                )
        if problems:
            raise ValidationError.from_exception_data("alerting", problems)
        return alerting

    @model_validator(mode="after")
    def _weekly_report_receiver(self) -> Settings:
        name = self.analytics.weekly_report.receiver
        if name is not None and self.alerting.receiver(name) is None:
            known = ", ".join(r.name for r in self.alerting.receivers) or "none are configured"
            raise ValueError(
                f"analytics.weekly_report.receiver: {name!r} is not one of alerting.receivers "
                f"({known})"
            )
        return self

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'monitor.db').resolve()}"

    def site(self, site_id: str) -> SiteConfig | None:
        return next((s for s in self.sites if s.id == site_id), None)


def _env_variables(environ: dict[str, str]) -> dict[tuple[str, ...], str]:
    """The ``WHMCS_MONITOR_*`` variables that set a setting, by its path.

    Only a name whose first part is a top-level setting counts (``WHMCS_MONITOR_SERVER__PORT``
    is ``("server", "port")``). Others share the prefix without being settings: the PHP
    module's ``WHMCS_MONITOR_SECRET``, a ``secret_env`` such as ``WHMCS_MONITOR_MAIN_SECRET``,
    ``WHMCS_MONITOR_CONFIG``; they are left alone.
    """
    found: dict[tuple[str, ...], str] = {}
    for name in environ:
        if name.startswith(ENV_PREFIX):
            path = tuple(name[len(ENV_PREFIX) :].lower().split("__"))
            if path[0] in Settings.model_fields:
                found[path] = name
    return found


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):  # a section, or a section | None
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _takes_json(path: tuple[str, ...]) -> bool:
    """Whether the setting at ``path`` is a list or a mapping, which the environment gives as JSON."""
    annotation: Any = Settings
    for part in path:
        model = _model_in(annotation)
        if model is None or part not in model.model_fields:
            return False  # not a setting: validation says so, naming the variable
        annotation = model.model_fields[part].annotation
    kinds = {get_origin(a) or a for a in (annotation, *get_args(annotation))}
    return bool(kinds & {list, dict, tuple, set}) or _model_in(annotation) is not None


def _env_value(path: tuple[str, ...], name: str, text: str) -> Any:
    if not _takes_json(path):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [
                f"{name}: {'.'.join(path)} is a list or mapping, so give it as JSON "
                f'(like ["10.0.0.1"]); {exc.msg} at column {exc.colno}'
            ],
            "the environment",
        ) from exc


def _env_overrides(
    variables: dict[tuple[str, ...], str], environ: dict[str, str]
) -> dict[str, Any]:
    """``WHMCS_MONITOR_SERVER__PORT=9000`` becomes ``{"server": {"port": "9000"}}``."""
    tree: dict[str, Any] = {}
    for path, name in variables.items():
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[path[-1]] = _env_value(path, name, environ[name])
    return tree


def _variable_behind(loc: tuple[int | str, ...], variables: dict[tuple[str, ...], str]) -> str:
    """The variable that set the setting at ``loc`` (or a section holding it), if any."""
    parts = tuple(str(p) for p in loc)
    return next((name for path, name in variables.items() if parts[: len(path)] == path), "")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known setting (check the spelling)",
    "string_too_short": "must be at least {min_length} characters",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "int_parsing": "must be a whole number",
    "bool_parsing": "must be true or false",
    "literal_error": "must be one of {expected}",
    "model_type": "must be a mapping of settings",
    "dict_type": "must be a mapping of settings",
    "list_type": "must be a list",
    "string_type": "must be text",
}


def _format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def format_error(error: ErrorDetails) -> str:
    """One pydantic error as ``path: reason``, in plain words."""
    template = _MESSAGES.get(error["type"])
    ctx = error.get("ctx") or {}
    reason = template.format(**ctx) if template else str(error["msg"])
    if error["type"] == "value_error":
        reason = str(ctx.get("error", error["msg"]))
    location = _format_location(error["loc"])
    # A validator that names a field ("secret: ...") reports against that field.
    field_name, sep, rest = reason.partition(": ")
    if sep and field_name.isidentifier() and " " not in field_name:
        location, reason = f"{location}.{field_name}" if location else field_name, rest
    return f"{location}: {reason}" if location else reason


def parse_settings(
    data: Any, *, environ: dict[str, str] | None = None, source: str = "config"
) -> Settings:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["the file must hold a mapping of settings"], source)
    environ = dict(os.environ if environ is None else environ)
    variables = _env_variables(environ)
    merged = _merge(data, _env_overrides(variables, environ))
    try:
        # Sites are validated in order; each id checks itself against the ones before it, so a
        # duplicate is reported at its own path even when some other setting is wrong.
        return Settings.model_validate(merged, context={SEEN_SITE_IDS: set(), ENVIRON: environ})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = _variable_behind(error["loc"], variables)
            problems.append(format_error(error) + (f" (set by {variable})" if variable else ""))
        raise ConfigError(problems, source) from exc


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("WHMCS_MONITOR_CONFIG") or DEFAULT_CONFIG_PATH)


def load_settings(path: Path, *, environ: dict[str, str] | None = None) -> Settings:
    """Read, merge and validate; a relative ``data_dir`` is taken relative to the file."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([f"{path} does not exist; run `whmcs-monitor init`"], str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read {path}: {exc}"], str(path)) from exc
    data = parse_yaml(text, str(path))
    settings = parse_settings(data, environ=environ, source=str(path))
    if not settings.data_dir.is_absolute():
        settings.data_dir = (path.parent / settings.data_dir).resolve()
    return settings
