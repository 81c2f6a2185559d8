"""Documentation that derives from the catalog must match it (as `cog --check` would)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from whmcs_monitor.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_docs_events_md_matches_the_catalog() -> None:
    result = CliRunner().invoke(main, ["catalog", "--markdown"])
    assert result.exit_code == 0
    assert (ROOT / "docs" / "events.md").read_text("utf-8") == result.output, (
        "docs/events.md is stale: run `whmcs-monitor catalog --markdown > docs/events.md`"
    )


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    missing = [name for name in main.commands if f"| `{name}" not in readme]
    assert missing == [], f"README does not mention: {missing}"
