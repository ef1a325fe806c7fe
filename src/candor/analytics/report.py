"""`candor report` output: the answers as terminal tables (rich), CSV or JSON.

Everything renders from the JSON envelope (`answers.envelope`), whether the numbers came from
a local store or from a running collector's `/v1/stats/summary`, so both print the same.
`tables()` is the one list of tables; the terminal shows the short ones, CSV and JSON have all.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

PIPE_WIDTH = 120  # columns when the output is a file or a pipe (rich would assume 80)
# Ranked tables show their first TOP_ROWS rows on the terminal (`--all`: every row); the
# weekly series is shown whole.
TOP_ROWS = 15
UNRANKED = frozenset({"overview", "weekly_active"})
# The field names CSV headers keep, as the terminal says them.
PLAIN_HEADERS = {
    "error_code": "error",
    "cli_version": "release",
    "installations_failing": "installations failing",
    "first_day": "first seen",
    "os_arch": "platform",
    "partial": "note",
}
Cell = str | int | float | None
Table = tuple[str, str, list[str], list[list[Cell]]]  # name, title, headers, rows
# The envelope's key for what `candor publish` would hide (candor.analytics.publish.marks), its
# mark on the terminal, and per table: the marks' list for it, how many leading columns name a row.
PUBLIC = "public"
PUBLIC_MARK = "⊘"
PUBLIC_ROWS = {
    "commands": ("commands", 1), "latency": ("latency", 1), "releases": ("releases", 2),
    "errors": ("error_code", 1), "weekly_active": ("weeks", 1), "versions": ("cli_version", 1),
    "platforms": ("os_arch", 1),
}  # fmt: skip


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _ms(value: int) -> str:
    return f"{value:,} ms"


def _change(ratio: float | None) -> str:
    return "" if ratio is None else f"{(ratio - 1) * 100:+.0f} %"


def tables(report: dict[str, Any], *, terminal: bool = False) -> list[Table]:
    """The report's tables; `terminal=True` formats cells and headers for people, puts the
    largest slowdowns first and drops the long daily series."""
    data: dict[str, Any] = report["data"]
    pct: Callable[[float], Cell] = _pct if terminal else (lambda v: v)
    ms: Callable[[int], Cell] = _ms if terminal else (lambda v: v)
    out: list[Table] = []

    def add(name: str, title: str, headers: list[str], rows: list[list[Cell]]) -> None:
        # Terminal headers are plain words; CSV keeps the field names scripts select by.
        names = [PLAIN_HEADERS.get(h, h) for h in headers] if terminal else headers
        out.append((name, title, names, rows))

    if "overview" in data:
        o = data["overview"]
        add("overview", "Overview", ["measure", "value"], [
            ["invocations", o["events"]], ["active installations", o["installations"]],
            ["new installations", o["new_installations"]], ["failures", o["failures"]],
            ["failure rate", pct(o["failure_rate"])],
            ["interactive runs", pct(o["interactive_share"])], ["commands used", o["commands"]],
        ])  # fmt: skip
    if "commands" in data:
        add(
            "commands",
            "Which features are most used?",
            *_usage_columns("command", data["commands"], "command", terminal),
        )
    if "performance" in data:
        p = data["performance"]
        add("latency", f"Where are the performance bottlenecks? ({report['percentile_method']})",
            ["command", "runs", "p50", "p90", "p99", "max"],
            [[r["command"], r["events"], ms(r["p50"]), ms(r["p90"]), ms(r["p99"]), ms(r["max"])]
             for r in p["by_command"]])  # fmt: skip
        if terminal:  # the essentials only, the largest slowdowns first
            slowest = sorted(p["by_version"], key=_slowdown, reverse=True)
            add("releases", "p90 by release, against the previous release (slowdowns first)",
                ["command", "cli_version", "runs", "p90", "vs previous"],
                [[r["command"], r["cli_version"], r["events"], ms(r["p90"]),
                  _change(r["p90_ratio"]) + (" SLOWER" if r["regression"] else "")]
                 for r in slowest])  # fmt: skip
        else:
            add("releases", "Duration by release, against the previous release",
                ["command", "cli_version", "runs", "p50", "p90", "p99", "max",
                 "previous_version", "p90_ratio", "regression"],
                [[r["command"], r["cli_version"], r["events"], r["p50"], r["p90"], r["p99"],
                  r["max"], r["previous_version"], r["p90_ratio"], r["regression"]]
                 for r in p["by_version"]])  # fmt: skip
    if "errors" in data:
        e = data["errors"]
        add(
            "errors",
            "What are the most common errors?",
            ["error_code", "occurrences", "installations"],
            [[r["error_code"], r["events"], r["installations"]] for r in e["top"]],
        )
        by_command = e["by_command"]
        if terminal:  # the most frequent first, so that the top rows are the ones that matter
            by_command = sorted(by_command, key=lambda r: r["events"], reverse=True)
        add("errors_by_command", "Errors by command",
            ["command", "error_code", "occurrences", "installations"],
            [[r["command"], r["error_code"], r["events"], r["installations"]]
             for r in by_command])  # fmt: skip
        for key, name, label in (
            ("failure_by_command", "failures_by_command", "command"),
            ("failure_by_version", "failures_by_version", "cli_version"),
        ):
            add(name, f"Failure rate by {'command' if key.endswith('command') else 'release'}",
                [label, "runs", "failures", "rate", "installations_failing"],
                [[r["name"], r["events"], r["failures"], pct(r["rate"]),
                  r["installations_failing"]] for r in e[key]])  # fmt: skip
    if "installations" in data:
        i = data["installations"]
        if not terminal:
            add(
                "daily_active",
                "Active installations per day",
                ["day", "active", "new"],
                [[d["day"], d["active"], d["new"]] for d in i["daily"]],
            )
        add("weekly_active", "Active installations per week (weeks start on Monday)",
            ["week", "active", "partial"],
            [[w["week"], w["active"], ("part of the week" if w["partial"] else "")
              if terminal else w["partial"]] for w in i["weekly"]])  # fmt: skip
    if "adoption" in data:
        a = data["adoption"]
        add("versions", "Version adoption",
            ["cli_version", "installations", "share", "share on last day", "first_day"],
            [[v["cli_version"], v["installations"], pct(v["share"]), pct(v["latest_share"]),
              v["first_day"]] for v in a["versions"]])  # fmt: skip
        if not terminal:
            add(
                "adoption_daily",
                "Installations per version per day",
                ["day", "cli_version", "installations", "share"],
                [[v["day"], v["cli_version"], v["installations"], v["share"]] for v in a["daily"]],
            )
    if "platforms" in data:
        for key, name, label in (
            ("os_arch", "platforms", "os_arch"),
            ("interactive", "interactive", "runs in"),
        ):
            add(
                name,
                "Platforms" if key == "os_arch" else "Interactive or CI",
                *_usage_columns(label, data["platforms"][key], "name", terminal),
            )
    if terminal and PUBLIC in report:
        out = [_mark_public(table, report[PUBLIC]) for table in out]
    return out


def _mark_public(table: Table, marks: dict[str, Any]) -> Table:
    """`table` with PUBLIC_MARK after the name of each row the public report would not show."""
    name, title, headers, rows = table
    if name not in PUBLIC_ROWS:
        return table
    key, width = PUBLIC_ROWS[name]
    hidden = {tuple(h) if isinstance(h, list) else (h,) for h in marks["hidden"][key]}
    marked = [
        [*row[: width - 1], f"{row[width - 1]} {PUBLIC_MARK}", *row[width:]]
        if marks["withheld"] or tuple(row[:width]) in hidden
        else row
        for row in rows
    ]
    return name, title, headers, marked


def _usage_columns(
    label: str, rows: list[dict[str, Any]], key: str, terminal: bool
) -> tuple[list[str], list[list[Cell]]]:
    """Invocations and installations of each command or platform, with their shares.

    On the terminal the installations' share goes in the same cell ("1,847 (94.8 %)"), so the
    table fits 80 columns; CSV keeps one number per column.
    """
    if terminal:
        return [label, "invocations", "share", "installations"], [
            [r[key], r["events"], _pct(r["event_share"]),
             f"{r['installations']:,} ({_pct(r['installation_share'])})"] for r in rows
        ]  # fmt: skip
    return [label, "invocations", "share", "installations", "of installations"], [
        [r[key], r["events"], r["event_share"], r["installations"], r["installation_share"]]
        for r in rows
    ]


def _slowdown(row: dict[str, Any]) -> tuple[bool, float]:
    """Regressions first, then the largest p90 increase; a first release (no ratio) last."""
    ratio = row["p90_ratio"]
    return bool(row["regression"]), -1.0 if ratio is None else float(ratio)


def heading(report: dict[str, Any]) -> str:
    """Two short lines saying what the numbers are about (each fits 80 columns)."""
    r = report["range"]
    filters = ", ".join(f"{k}={v}" for k, v in report["filters"].items()) or "none"
    return (
        f"{r['start']} to {r['end']} ({r['days']} days, UTC); filters: {filters}\n"
        f"percentiles: {report['percentile_method']}; distinct installations: "
        f"{report['distinct_method']}"
    )


def to_json(report: dict[str, Any]) -> str:
    """The envelope as indented JSON."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def to_csv(report: dict[str, Any], names: list[str] | None = None) -> str:
    """One CSV table, or several, each after a `# name` line and a blank line between them."""
    chosen = [t for t in tables(report) if names is None or t[0] in names]
    buffer = io.StringIO()
    for number, (name, _, headers, rows) in enumerate(chosen):
        if len(chosen) > 1:
            buffer.write(("\n" if number else "") + f"# {name}\n")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
    return buffer.getvalue()


def table_names(report: dict[str, Any]) -> list[str]:
    """The names `to_csv` accepts for this report."""
    return [name for name, *_ in tables(report)]


def print_tables(report: dict[str, Any], file: Any = None, *, all_rows: bool = False) -> None:
    """Rich tables on the terminal (plain text when not a terminal); long ranked tables show
    their top TOP_ROWS rows and say how many more `--all` shows."""
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console.width = PIPE_WIDTH
    console.print(f"[bold]Candor report[/bold]: {heading(report)}")
    if report["data"].get("overview", {}).get("events") == 0:
        console.print("No events in this range: try a longer --since, or fewer filters.")
        console.print("CLIs send events to a collector's /v1/event, e.g. the demo CLI to")
        console.print("YOUR_PLATFORM_TELEMETRY_ENDPOINT=http://127.0.0.1:8787/v1/event")
    if PUBLIC in report:
        k = report[PUBLIC]["min_installations"]
        console.print(f"{PUBLIC_MARK} would not be in the public report (candor publish, K = {k})")
    for name, title, headers, rows in tables(report, terminal=True):
        hidden = 0 if all_rows or name in UNRANKED else max(0, len(rows) - TOP_ROWS)
        shown = rows[: len(rows) - hidden]
        # The title above the table, not in it: rich wraps a title to the table's width.
        console.print()
        console.print(f"[bold]{title}[/bold]")
        table = RichTable()
        for number, header in enumerate(headers):
            column = [row[number] for row in rows]
            table.add_column(
                header,
                justify="right" if _numeric(column) else "left",
                # A header wraps between words on a narrow terminal, never inside one.
                min_width=max((len(word) for word in header.split()), default=0),
            )
        for row in shown:
            table.add_row(*("" if cell is None else _cell(cell) for cell in row))
        if not rows:
            table.add_row(*(["(none)"] + [""] * (len(headers) - 1)))
        console.print(table)
        if hidden:
            console.print(f"… and {hidden:,} more rows (candor report --all shows them)")


def _numeric(column: list[Cell]) -> bool:
    """Whether a column holds numbers (plain, or formatted as "1,234 ms" or "5.0 %")."""
    return any(
        isinstance(cell, int | float)
        or (isinstance(cell, str) and cell.endswith((" %", " ms", " %)", "SLOWER")))
        for cell in column
    )


def _cell(value: Cell) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
