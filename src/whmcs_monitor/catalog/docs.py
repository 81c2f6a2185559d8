"""Render the catalog as the Markdown reference in docs/events.md (checked by a test for drift)."""

from __future__ import annotations

from whmcs_monitor.catalog.loader import Catalog, EventKind

HEADER = """# Event reference

Generated from `src/whmcs_monitor/catalog/events.yaml` by `whmcs-monitor catalog --markdown`;
do not edit by hand (a test fails when this file and the catalog differ).

A name in the tables can be used wherever whmcs-monitor takes a kind: `events --kind`, rules, and
the ingest API's `kind` field. WHMCS hook names and the names used in the operator's audit
(aliases) resolve to the same kinds.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _source(entry: EventKind) -> str:
    if entry.hooks:
        return ", ".join(f"`{hook}`" for hook in entry.hooks)
    return f"{entry.source}" + (f" (`{entry.table}`)" if entry.table else "")


def render_markdown(catalog: Catalog) -> str:
    lines = [HEADER]
    for category in catalog.categories:
        kinds = catalog.in_category(category.id)
        lines += [
            f"## {category.title} (`{category.id}`, {len(kinds)} kinds)",
            "",
            category.description,
            "",
            "| kind | severity | from | aliases | what it means |",
            "| --- | --- | --- | --- | --- |",
        ]
        for entry in kinds:
            opt_in = " (opt-in)" if entry.opt_in else ""
            aliases = ", ".join(f"`{a}`" for a in entry.aliases)
            lines.append(
                f"| `{entry.kind}`{opt_in} | {entry.severity} | {_cell(_source(entry))} | "
                f"{_cell(aliases)} | {_cell(entry.description)} |"
            )
        lines.append("")
    return "\n".join(lines)
