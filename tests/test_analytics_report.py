"""The business report: values for a closed week, forecasts, renderings and the CLI around them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import analytics_fixtures
from analytics_fixtures import NOW, History, config, daily_takings
from support import SITE_SECRET
from whmcs_monitor.analytics import report
from whmcs_monitor.cli import main

shared_history = analytics_fixtures.shared_history  # the fixtures, under their own names
bare_history = analytics_fixtures.bare_history


def kpi(doc: dict[str, Any], family: str, metric: str, **labels: str) -> float:
    [value] = [
        r["value"]
        for r in doc["kpis"][family]
        if r["metric"] == metric and all(r["labels"].get(k) == v for k, v in labels.items())
    ]
    return float(value)


@pytest.fixture(scope="module")
def week(shared_history: History) -> dict[str, Any]:
    return report.build(shared_history.conn, site="main", period="week", config=config(), now=NOW)


def test_a_week_report_covers_the_last_complete_monday_to_sunday(week: dict[str, Any]) -> None:
    assert week["window"]["label"] == "2026-11-16 to 2026-11-22"
    # 5 weekdays x 12 + 2 weekend days x 6 payments of 10 USD (fee 0.50), one Monday refund.
    assert kpi(week, "Revenue", "business_revenue_net", gateway="stripe") == 720 - 36 - 10
    assert kpi(week, "Orders", "business_orders_placed") == 5 * 10 + 2 * 4
    # The promo invoices are dated Monday the 23rd, the day after the week.
    assert kpi(week, "Marketing", "business_promo_discount") == 0
    assert [d["net"] for d in week["daily_net_revenue"]] == [
        113.5,
        123.5,
        123.5,
        123.5,
        123.5,
        66.5,
        66.5,
    ]


def test_the_month_end_projection_fills_the_rest_of_the_month_by_weekday(
    week: dict[str, Any],
) -> None:
    month = week["forecast"]["month_end_revenue"]
    # So far 2487 (see the KPI tests). Still to come: 8.5 h of this Tuesday (a full Tuesday is
    # 123.50), Wed-Fri at 123.50, Sat-Sun at 66.50 and Monday the 30th at 113.50.
    assert month["month_to_date"] == 2487
    assert month["projected_total"] == pytest.approx(
        2487 + 123.5 * 8.5 / 24 + 3 * 123.5 + 2 * 66.5 + 113.5, abs=0.01
    )
    assert month["days_left"] == 6


def test_the_mrr_trend_is_rebuilt_from_new_and_churned_mrr(week: dict[str, Any]) -> None:
    trend = week["forecast"]["mrr_trend"]
    # Four 10 USD services ended on the 20th and 23rd; two started on the 10th.
    assert [w["mrr"] for w in trend["weekly"]] == [240, 280, 280, 260, 260, 260, 260, 260, 260]
    # The least-squares slope through those nine weekly points is +1/3 a week (Sxy 20, Sxx 60).
    assert trend["change_per_month"] == round(1 / 3 * 365.25 / 12 / 7, 2)


def test_capacity_forecast_names_the_days_until_a_server_is_full(week: dict[str, Any]) -> None:
    assert week["forecast"]["capacity"] == [
        {
            "server": "web2",
            "accounts": 40,
            "maxaccounts": 50,
            "growth_per_day": 0.333,
            "days_until_full": 30.0,
        }
    ]


def test_markdown_and_html_carry_the_same_figures(week: dict[str, Any]) -> None:
    md, page = report.to_markdown(week), report.to_html(week)
    assert "| Net revenue | gateway=stripe, currency=USD | 674.00 |" in md
    assert "Server web2: 40 of 50 accounts, full in about 30 days." in md
    assert "<td class='v'>674.00</td>" in page and page.startswith("<!doctype html>")


def test_html_escapes_text_that_comes_from_whmcs(week: dict[str, Any]) -> None:
    hostile = {
        **week,
        "cancellation_reasons": [{"reason": "<script>alert(1)</script>", "count": 1}],
    }
    page = report.to_html(hostile)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;: 1" in page


def young_shop_report(history: History, days: range) -> dict[str, Any]:
    daily_takings(history.whmcs, days)
    return report.build(
        history.conn, site="main", period="month", config=config(), now=NOW, to_date=True
    )


def test_a_young_shop_is_projected_from_its_first_transaction_on(bare_history: History) -> None:
    # 100.00 a day at 10:00 since Tuesday 3 November: 21 days before today, three Tuesdays.
    doc = young_shop_report(bare_history, range(22))
    month = doc["forecast"]["month_end_revenue"]
    # Still to come: 8.5 h of today and 25-30 November, each at its weekday median of 100.00
    # (the weeks before the first transaction are not zeros).
    assert month["projected_total"] == pytest.approx(2200 + 100 * 8.5 / 24 + 600, abs=0.01)
    assert (month["history_days"], month["insufficient_history"]) == (21, False)
    assert doc["not_judged"] == []


def test_too_young_a_shop_says_not_enough_data_instead_of_projecting_or_judging(
    bare_history: History,
) -> None:
    # Open since Sunday 15 November: one past Tuesday and 9 days of history.
    doc = young_shop_report(bare_history, range(10))
    month = doc["forecast"]["month_end_revenue"]
    assert (month["projected_total"], month["insufficient_history"]) == (None, True)
    md = report.to_markdown(doc)
    assert (
        "- Month-end revenue projection: not enough history yet (9 day(s) of revenue before "
        "today, 14 needed; 1,000.00 so far, 6 day(s) left)."
    ) in md
    not_judged = (
        "Not judged: revenue_today: not enough data: revenue so far today is not compared until "
        "3 past Tuesdays have revenue history; the site has 1 since its first transaction on "
        "2026-11-15"
    )
    assert f"## Anomalies\n\n- None.\n- {not_judged}\n" in md
    assert f"<li>{not_judged}</li>" in report.to_html(doc)


def write_config(tmp_path: Path, history: History | None) -> Path:
    site: dict[str, Any] = {"id": "main", "secret": SITE_SECRET}
    if history is not None:
        cfg = history.whmcs.config
        site["database"] = {
            "host": cfg.host,
            "port": cfg.port,
            "name": cfg.name,
            "user": cfg.user,
            "password": history.whmcs.password,
        }
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
                "demo": {"enabled": "off"},
                "sites": [site],
            }
        )
    )
    return path


def test_the_report_command_prints_one_json_document(
    shared_history: History, tmp_path: Path
) -> None:
    path = write_config(tmp_path, shared_history)
    args = [
        "--config",
        str(path),
        "report",
        "--period",
        "week",
        "--format",
        "json",
        "--as-of",
        "2026-11-24 15:30",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["window"]["label"] == "2026-11-16 to 2026-11-22"
    assert kpi(doc, "Revenue", "business_revenue_net_base") == 674 + 7 * 9.5


def test_the_report_command_explains_an_output_it_cannot_write(
    shared_history: History, tmp_path: Path
) -> None:
    path = write_config(tmp_path, shared_history)
    output = tmp_path / "no-such-dir" / "r.md"
    result = CliRunner().invoke(main, ["--config", str(path), "report", "--output", str(output)])
    assert result.exit_code == 2
    assert f"Invalid value for --output: cannot write {output}: No such file or directory" in (
        result.output
    )


def test_the_report_command_explains_a_site_without_database_access(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(write_config(tmp_path, None)), "report"])
    assert result.exit_code == 1
    assert "no site has WHMCS database access; add sites[].database" in result.output
    assert "Traceback" not in result.output


def test_the_report_command_names_an_unknown_site(shared_history: History, tmp_path: Path) -> None:
    path = write_config(tmp_path, shared_history)
    result = CliRunner().invoke(main, ["--config", str(path), "report", "--site", "nope"])
    assert result.exit_code == 1
    assert "site 'nope' is not a configured site (main)" in result.output


def test_an_unreachable_whmcs_database_is_one_plain_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    site = {
        "id": "main",
        "secret": SITE_SECRET,
        "database": {
            "host": "127.0.0.1",
            "port": 1,
            "name": "whmcs",
            "user": "monitor",
            "password": "hunter2-secret",
        },
    }
    path.write_text(
        yaml.safe_dump(
            {
                "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
                "demo": {"enabled": "off"},
                "sites": [site],
            }
        )
    )
    result = CliRunner().invoke(main, ["--config", str(path), "analytics", "refresh"])
    assert result.exit_code == 1
    assert "cannot connect to the WHMCS database monitor@127.0.0.1:1/whmcs" in result.output
    assert "hunter2-secret" not in result.output


def test_analytics_refresh_records_kpis_and_prints_json(
    shared_history: History, tmp_path: Path
) -> None:
    path = write_config(tmp_path, shared_history)
    result = CliRunner().invoke(main, ["--config", str(path), "analytics", "refresh", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    mrr = [k["value"] for k in doc["kpis"] if k["metric"] == "business_mrr_base"]
    assert mrr == [240]


def test_analytics_refresh_says_what_it_cannot_judge_yet(
    bare_history: History, tmp_path: Path
) -> None:
    daily_takings(bare_history.whmcs, range(10))
    path = write_config(tmp_path, bare_history)
    result = CliRunner().invoke(main, ["--config", str(path), "analytics", "refresh"])
    assert result.exit_code == 0, result.output
    assert "Not judged: revenue_today: not enough data: revenue so far today is not compared" in (
        " ".join(result.stdout.split())
    )
    result = CliRunner().invoke(main, ["--config", str(path), "analytics", "refresh", "--json"])
    [note] = json.loads(result.stdout)["not_judged"]
    assert note.startswith("revenue_today: not enough data: ")


def test_a_site_without_transactions_says_so(bare_history: History) -> None:
    doc = report.build(bare_history.conn, site="main", period="day", config=config(), now=NOW)
    assert doc["not_judged"] == [
        "revenue_today: not enough data: revenue so far today is not compared until 3 past "
        "Tuesdays have revenue history; the site has no transaction yet"
    ]
    assert doc["forecast"]["month_end_revenue"]["history_days"] == 0


def test_the_docs_page_lists_every_kpi_with_the_sql_that_runs() -> None:
    from whmcs_monitor.analytics.definitions import markdown

    page = Path(__file__).parents[1] / "docs" / "analytics.md"
    assert page.read_text("utf-8") == markdown(), (
        "regenerate docs/analytics.md from definitions.markdown()"
    )


def test_every_measured_kpi_is_defined(week: dict[str, Any]) -> None:
    from whmcs_monitor.analytics.definitions import BY_NAME

    measured = {r["metric"] for rows in week["kpis"].values() for r in rows}
    assert measured <= set(BY_NAME)
    assert len(measured) >= 40
