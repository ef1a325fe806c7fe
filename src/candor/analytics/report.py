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
Cell = str | int | float | None
Table = tuple[str, str, list[str], list[list[Cell]]]  # name, title, headers, rows


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _ms(value: int) -> str:
    return f"{value:,} ms"


def _change(ratio: float | None) -> str:
    return "" if ratio is None else f"{(ratio - 1) * 100:+.0f} %"


def tables(report: dict[str, Any], *, terminal: bool = False) -> list[Table]:
    """The report's tables; `terminal=True` formats cells for people and drops long series."""
    data: dict[str, Any] = report["data"]
    pct: Callable[[float], Cell] = _pct if terminal else (lambda v: v)
    ms: Callable[[int], Cell] = _ms if terminal else (lambda v: v)
    out: list[Table] = []

    def add(name: str, title: str, headers: list[str], rows: list[list[Cell]]) -> None:
        out.append((name, title, headers, rows))

    if "overview" in data:
        o = data["overview"]
        add("overview", "Overview", ["measure", "value"], [
            ["invocations", o["events"]], ["active installations", o["installations"]],
            ["new installations", o["new_installations"]], ["failures", o["failures"]],
            ["failure rate", pct(o["failure_rate"])],
            ["interactive runs", pct(o["interactive_share"])], ["commands used", o["commands"]],
        ])  # fmt: skip
    if "commands" in data:
        add("commands", "Which features are most used?",
            ["command", "invocations", "share", "installations", "of installations"],
            [[c["command"], c["events"], pct(c["event_share"]), c["installations"],
              pct(c["installation_share"])] for c in data["commands"]])  # fmt: skip
    if "performance" in data:
        p = data["performance"]
        add("latency", f"Where are the performance bottlenecks? ({report['percentile_method']})",
            ["command", "runs", "p50", "p90", "p99", "max"],
            [[r["command"], r["events"], ms(r["p50"]), ms(r["p90"]), ms(r["p99"]), ms(r["max"])]
             for r in p["by_command"]])  # fmt: skip
        if terminal:  # the essentials only, so the table fits beside the others
            add("releases", "p90 by release, against the previous release",
                ["command", "cli_version", "runs", "p90", "vs previous", ""],
                [[r["command"], r["cli_version"], r["events"], ms(r["p90"]),
                  _change(r["p90_ratio"]), "SLOWER" if r["regression"] else ""]
                 for r in p["by_version"]])  # fmt: skip
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
        add("errors_by_command", "Errors by command",
            ["command", "error_code", "occurrences", "installations"],
            [[r["command"], r["error_code"], r["events"], r["installations"]]
             for r in e["by_command"]])  # fmt: skip
        for key, name, label in (
            ("failure_by_command", "failures_by_command", "command"),
            ("failure_by_version", "failures_by_version", "cli_version"),
        ):
            add(name, f"Failure rate by {label}",
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
        add("weekly_active", "Active installations per week (Monday first)",
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
            add(name, "Platforms" if key == "os_arch" else "Interactive or CI",
                [label, "invocations", "share", "installations", "of installations"],
                [[s["name"], s["events"], pct(s["event_share"]), s["installations"],
                  pct(s["installation_share"])] for s in data["platforms"][key]])  # fmt: skip
    return out


def heading(report: dict[str, Any]) -> str:
    """One line saying what the numbers are about."""
    r = report["range"]
    filters = ", ".join(f"{k}={v}" for k, v in report["filters"].items()) or "none"
    return (
        f"{r['start']} to {r['end']} ({r['days']} days, UTC); filters: {filters}; "
        f"percentiles {report['percentile_method']}; distinct installations "
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


def print_tables(report: dict[str, Any], file: Any = None) -> None:
    """Rich tables on the terminal (plain text when not a terminal)."""
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console.width = PIPE_WIDTH
    console.print(f"[bold]Candor report[/bold]: {heading(report)}")
    for _, title, headers, rows in tables(report, terminal=True):
        table = RichTable(title=title, title_justify="left", title_style="bold")
        for number, header in enumerate(headers):
            column = [row[number] for row in rows]
            table.add_column(header, justify="right" if _numeric(column) else "left")
        for row in rows:
            table.add_row(*("" if cell is None else _cell(cell) for cell in row))
        if not rows:
            table.add_row(*(["(none)"] + [""] * (len(headers) - 1)))
        console.print()
        console.print(table)


def _numeric(column: list[Cell]) -> bool:
    """Whether a column holds numbers (plain, or formatted as "1,234 ms" or "5.0 %")."""
    return any(
        isinstance(cell, int | float) or (isinstance(cell, str) and cell.endswith((" %", " ms")))
        for cell in column
    )


def _cell(value: Cell) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
