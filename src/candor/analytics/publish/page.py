"""index.html of the public report: every figure as an HTML table, charts drawn by report.js.

The page works from a folder opened in a browser (file://) and from any static host: the
figures are in the page itself (a JSON data block, which needs no fetch), the script, styles
and chart library are files beside it, and the Content-Security-Policy forbids every other
source and every connection, so the page can neither load nor send anything elsewhere.
Without JavaScript the tables still show every figure.
"""

from __future__ import annotations

import html
import json
from typing import Any

from candor.analytics.publish.tables import Table, tables

SCRIPT = "report.js"
STYLES = "report.css"
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; base-uri 'none'; form-action 'none'"
# table name → the canvas report.js draws it on
CHARTS = {
    "weekly_active": "chart-weekly",
    "commands": "chart-commands",
    "durations_by_command": "chart-durations",
    "error_codes": "chart-errors",
    "platforms": "chart-platforms",
    "versions": "chart-versions",
}
HIDDEN_NOTE = "not published: fewer than {k} installations, or folded into other"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: object, k: int) -> str:
    if value is None:
        return f'<td class="hidden" title="{_e(HIDDEN_NOTE.format(k=k))}">—</td>'
    if isinstance(value, bool):
        return f"<td>{'yes' if value else ''}</td>"
    if isinstance(value, float):
        return f'<td class="num">{value * 100:.1f} %</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{_e(value)}</td>"


def _table(table: Table, k: int) -> str:
    head = "".join(f"<th>{_e(h.replace('_', ' '))}</th>" for h in table.headers)
    body = (
        "".join("<tr>" + "".join(_cell(v, k) for v in row) + "</tr>" for row in table.rows)
        or f'<tr><td colspan="{len(table.headers)}" class="empty">nothing to publish</td></tr>'
    )
    chart = CHARTS.get(table.name)
    canvas = (
        f'<div class="chart"><canvas id="{chart}" aria-label="{_e(table.title)}"></canvas></div>'
        if chart
        else ""
    )
    return (
        f'<section class="card" id="{table.name}"><h2>{_e(table.title)} '
        f'<a class="csv" href="{table.name}.csv">CSV</a></h2>{canvas}'
        f'<div class="table-wrap"><table data-table="{table.name}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div></section>"
    )


def data_block(figures: dict[str, Any]) -> str:
    """The figures as a JSON data block; `<` escaped so no value can close the element."""
    text = json.dumps(figures, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="report-data">{text}</script>'


def render(figures: dict[str, Any], title: str, chart_library: str) -> str:
    """The whole index.html for `figures` (the value of data.json)."""
    k = figures["min_installations"]
    r = figures["range"]
    period = f"{r['start']} to {r['end']} ({r['days']} days, UTC)"
    if figures["withheld"]:
        body = (
            f'<p class="card empty" id="withheld">Fewer than {k} installations sent telemetry in '
            "this period, so nothing is published.</p>"
        )
    else:
        o = figures["overview"]
        body = (
            '<div class="cards">'
            f'<div class="card stat"><span class="label">Active installations</span>'
            f'<span class="value" id="ov-installations">{o["installations"]:,}</span></div>'
            f'<div class="card stat"><span class="label">Commands run</span>'
            f'<span class="value" id="ov-events">{o["events"]:,}</span></div></div>'
            + "".join(_table(t, k) for t in tables(figures) if t.name != "overview")
        )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<link rel="stylesheet" href="{STYLES}">
</head>
<body data-state="loading">
<header class="bar"><h1>{_e(title)}</h1><span class="period">{_e(period)}</span></header>
<main>
<section class="card rule" id="rule"><h2>How this report protects privacy</h2>
<p><strong>K = <span id="k">{k}</span>.</strong> {_e(figures["rule"])}</p>
<p>Cells marked — are not published. The same figures are in
<a href="data.json">data.json</a> and in one CSV file per table.</p></section>
{body}
</main>
{data_block(figures)}
<script src="{_e(chart_library)}"></script>
<script src="{SCRIPT}"></script>
</body>
</html>
"""
