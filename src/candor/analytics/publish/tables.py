"""The public report's figures as named tables: the CSV files and the page's HTML tables.

One list, so the CSV and the page always show the same cells. A cell the floor hides is an
empty value; "other" rows are named "(other)", which no command, platform or version can be.
"""

from __future__ import annotations

import csv
import io
from typing import Any, NamedTuple

Value = str | int | float | None
OTHER = "(other)"


class Table(NamedTuple):
    """One table: its file name (without .csv), title, column names and rows."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[Value]]


def _breakdown(part: dict[str, Any], *, events: bool = True) -> list[list[Value]]:
    columns = [
        "installations",
        "installation_share",
        *(("events", "event_share") if events else ()),
    ]
    rows: list[list[Value]] = [[row["name"], *(row[c] for c in columns)] for row in part["rows"]]
    other = part.get("other")
    if other is not None:
        shares = (other.get("events"), other.get("event_share")) if events else ()
        rows.append([OTHER, None, None, *shares])
    return rows


def tables(figures: dict[str, Any]) -> list[Table]:
    """Every table of the report (none but the overview when the report is withheld)."""
    overview = [
        ["start", figures["range"]["start"]],
        ["end", figures["range"]["end"]],
        ["min_installations", figures["min_installations"]],
    ]
    if figures["withheld"]:
        return [Table("overview", "Overview", ["measure", "value"], overview)]
    o = figures["overview"]
    overview += [["active_installations", o["installations"]], ["events", o["events"]]]
    shares = ["installations", "installation_share", "events", "event_share"]
    return [
        Table("overview", "Overview", ["measure", "value"], overview),
        Table(
            "weekly_active",
            "Weekly active installations",
            ["week", "installations", "partial"],
            [
                [w["week"], w["installations"], w["partial"]]
                for w in figures["weekly_active"]["rows"]
            ],
        ),
        Table(
            "commands",
            "Most used commands",
            ["command", *shares],
            _breakdown(figures["commands"]),
        ),
        Table(
            "durations_by_command",
            "Durations by command (ms)",
            ["command", "p50_ms", "p90_ms"],
            [[r["command"], r["p50"], r["p90"]] for r in figures["durations_by_command"]["rows"]],
        ),
        Table(
            "durations_by_release",
            "Durations by command and release (ms)",
            ["command", "cli_version", "p50_ms", "p90_ms"],
            [
                [r["command"], r["cli_version"], r["p50"], r["p90"]]
                for r in figures["durations_by_release"]["rows"]
            ],
        ),
        Table(
            "error_codes",
            "Error codes by installations hit",
            ["error_code", "installations", "events"],
            [[r["name"], r["installations"], r["events"]] for r in figures["errors"]["rows"]],
        ),
        Table(
            "platforms",
            "Platforms",
            ["os_arch", *shares],
            _breakdown(figures["platforms"]),
        ),
        Table(
            "versions",
            "Versions",
            ["cli_version", "installations", "installation_share"],
            _breakdown(figures["versions"], events=False),
        ),
    ]


def _field(value: Value) -> Value:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def to_csv(table: Table) -> str:
    """One table as CSV (header row first; an empty field is a hidden or absent value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.headers)
    writer.writerows([_field(v) for v in row] for row in table.rows)
    return out.getvalue()
