"""The dashboard's settings (the ``web:`` section of the config file)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class WebConfig(BaseModel):
    """Sessions, login throttling and links into WHMCS; every limit is bounded."""

    model_config = ConfigDict(extra="forbid")

    session_idle_minutes: int = Field(default=720, ge=5, le=7 * 24 * 60)
    session_max_hours: int = Field(default=168, ge=1, le=90 * 24)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_lockout_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    # "auto": Secure cookies when the request arrived over HTTPS (directly or through a trusted
    # proxy's X-Forwarded-Proto) or server.public_url is https.
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    # WHMCS's admin folder (customadminpath), used to build deep links from events.
    whmcs_admin_dir: str = Field(default="admin", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    stream_poll_seconds: float = Field(default=1.0, ge=0.1, le=30)
    # A live-stream connection ends after this long; the browser reconnects and resumes.
    stream_max_seconds: float = Field(default=300, ge=0.1, le=3600)
