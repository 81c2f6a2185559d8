"""Time-based pieces as pure functions: maintenance windows, quiet hours, matchers, links, redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from support import make_settings
from whmcs_monitor.alerting.config import MaintenanceWindow
from whmcs_monitor.alerting.links import alert_links, verify_ack_token
from whmcs_monitor.alerting.maintenance import window_end
from whmcs_monitor.alerting.matchers import parse_matcher
from whmcs_monitor.notify.errors import redact_url
from whmcs_monitor.notify.receivers import QuietHours

WED_10 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _window(**fields: Any) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate({"name": "w", **fields})


@pytest.mark.parametrize(
    ("case", "fields", "now", "end"),
    [
        (
            "one-off, inside",
            {"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T11:00:00Z"},
            WED_10,
            WED_10 + timedelta(hours=1),
        ),
        (
            "one-off, after",
            {"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T09:30:00Z"},
            WED_10,
            None,
        ),
        (
            "weekly, on the day",
            {"days": ["wed"], "from": "09:00", "until": "12:00"},
            WED_10,
            WED_10 + timedelta(hours=2),
        ),
        ("weekly, other day", {"days": ["thu"], "from": "09:00", "until": "12:00"}, WED_10, None),
        (
            "weekly overnight, started yesterday",
            {"days": ["tue"], "from": "22:00", "until": "11:00"},
            WED_10,
            WED_10 + timedelta(hours=1),
        ),
        (
            "cron, inside",
            {"cron": "0 10 * * 3", "duration": "30m"},
            WED_10 + timedelta(minutes=5),
            WED_10 + timedelta(minutes=30),
        ),
        (
            "cron, over",
            {"cron": "0 10 * * 3", "duration": "30m"},
            WED_10 + timedelta(minutes=31),
            None,
        ),
        (
            "weekly in a zone",
            {"days": ["wed"], "from": "11:00", "until": "12:00", "timezone": "Europe/Berlin"},
            WED_10,
            WED_10 + timedelta(hours=1),
        ),
    ],
)
def test_maintenance_window_schedules(
    case: str, fields: dict[str, Any], now: datetime, end: datetime | None
) -> None:
    assert window_end(_window(**fields), now) == end, case


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": "2026-11-25T09:00:00Z"}, "end: a one-off window needs a start and a later end"),
        ({"cron": "every day", "duration": "1h"}, "cron: 'every day' is not a cron expression"),
        (
            {"days": ["wed"], "from": "9", "until": "10:00"},
            "'9' is not a time of day; write HH:MM, like 08:00",
        ),
        ({"days": ["someday"], "from": "09:00", "until": "10:00"}, "'someday' is not a weekday"),
        (
            {"days": ["wed"], "from": "09:00", "until": "10:00", "timezone": "Europe/Berln"},
            "'Europe/Berln' is not a time zone name such as Europe/Berlin",
        ),
    ],
)
def test_a_bad_maintenance_window_is_refused_with_its_reason(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _window(**fields)


def test_quiet_hours_over_midnight_release_in_the_morning() -> None:
    quiet = QuietHours(start="22:00", end="07:00", timezone="Europe/Berlin")  # type: ignore[arg-type]
    late = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert quiet.release_time(late) == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert quiet.release_time(WED_10) is None
    assert quiet.bypassed_by("critical") and not quiet.bypassed_by("error")


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ('server="web1"', {"server": "web1"}, True),
        ("server!=web1", {"server": "web1"}, False),
        ("rule=~module-.*", {"rule": "module-command-failed"}, True),
        ("rule!~module-.*", {"rule": "module-command-failed"}, False),
        ("missing=", {}, True),
    ],
)
def test_matchers(text: str, labels: dict[str, str], matches: bool) -> None:
    assert parse_matcher(text).matches(labels) is matches


def test_links_point_at_the_whmcs_admin_page_and_carry_a_verifiable_ack_token() -> None:
    settings = make_settings(
        "sqlite://",
        sites=[{"id": "main", "secret": "s" * 40, "whmcs_url": "https://billing.example.com/"}],
    )
    settings.server.public_url = "https://monitor.example.com"
    links = alert_links(settings, 12, "main", {"invoice": 981})
    assert links["alert"] == "https://monitor.example.com/alerts/12"
    assert links["whmcs"] == "https://billing.example.com/admin/invoices.php?action=edit&id=981"
    token = links["ack"].split("token=")[1]
    assert verify_ack_token(settings, 12, token) and not verify_ack_token(settings, 13, token)


@pytest.mark.parametrize(
    ("subjects", "page"),
    [
        ({"client": 3, "service": 7, "server": 2}, "clientsservices.php?id=7"),
        ({"domain": 5, "client": 3}, "clientsdomains.php?id=5"),
        ({"client": 3, "ticket": 8}, "supporttickets.php?action=view&id=8"),
        ({"order": 4, "client": 3}, "orders.php?action=view&id=4"),
        ({"client": 3, "invoice": 9, "service": 7}, "invoices.php?action=edit&id=9"),
        ({"client": 3}, "clientssummary.php?userid=3"),
    ],
)
def test_the_whmcs_link_opens_the_most_specific_subject_in_the_configured_admin_folder(
    subjects: dict[str, int], page: str
) -> None:
    settings = make_settings(
        "sqlite://",
        sites=[{"id": "main", "secret": "s" * 40, "whmcs_url": "https://billing.example.com"}],
        web={"whmcs_admin_dir": "backoffice"},
    )
    links = alert_links(settings, 1, "main", subjects)
    assert links["whmcs"] == f"https://billing.example.com/backoffice/{page}"


def test_redacted_urls_keep_only_scheme_and_host() -> None:
    assert (
        redact_url("https://hooks.slack.com/services/T0/B1/secret?x=1")
        == "https://hooks.slack.com/…"
    )
    assert redact_url("http://127.0.0.1:8080/hook/TOKEN") == "http://127.0.0.1:8080/…"
