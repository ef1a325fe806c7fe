"""The audit's verdicts and their three renderings: terminal text, `--json`, `--markdown`.

The JSON form (`FORMAT_VERSION` 1) is documented in the README ("Auditing a CLI"); a field is
only ever added to it, never renamed or removed within a version.
"""

from __future__ import annotations

import json
from typing import Any

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
FORMAT_VERSION = 1
EXIT_PASS, EXIT_FAIL, EXIT_UNUSABLE = 0, 1, 2

# check number → (short name, what it checks)
CHECKS: dict[int, tuple[str, str]] = {
    1: ("first-run", "first run: exits as usual, asks nothing, notice on stderr once"),
    2: ("schema", "every event validates against the schema, no extra field, stable id"),
    3: ("canaries", "no argument, environment, path, user, host or file content sent"),
    4: ("opt-out", "opted out: no network activity, no file under HOME, no process left"),
    5: ("disable", "after disable: no network activity; after enable: events flow"),
    6: ("endpoint-down", "endpoint down or hanging: same output and exit status"),
    7: ("do-not-track", "DO_NOT_TRACK=1 honoured (a recommendation)"),
    8: ("plain-text", "no plain http:// to a non-loopback address"),
}


class Check:
    """One check's verdict, a one-line summary and the evidence (or the reason of a SKIP)."""

    def __init__(self, number: int, verdict: str, summary: str, evidence: list[str] | None = None):
        self.number = number
        self.name, self.title = CHECKS[number]
        self.verdict = verdict
        self.summary = summary
        self.evidence = evidence or []
        self.measurements: dict[str, float | None] = {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "title": self.title,
            "verdict": self.verdict,
            "summary": self.summary,
            "evidence": self.evidence,
            "measurements": self.measurements,
        }


class Report:
    """Everything `candor audit` found, ready to render."""

    def __init__(self, command: list[str], platform: str) -> None:
        self.command = command  # as typed
        self.program = command[0]  # the executable that ran (absolute path)
        self.platform = platform
        self.checks: list[Check] = []
        self.sandbox: dict[str, Any] = {}
        self.runs: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []  # what reached the listeners, decoded
        self.duration_s = 0.0
        self.error: str | None = None  # set: the sandbox could not be set up (exit 2)

    @property
    def exit_status(self) -> int:
        if self.error is not None:
            return EXIT_UNUSABLE
        return EXIT_FAIL if any(check.verdict == FAIL for check in self.checks) else EXIT_PASS

    @property
    def result(self) -> str:
        return {EXIT_PASS: "pass", EXIT_FAIL: "fail", EXIT_UNUSABLE: "error"}[self.exit_status]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "command": self.command,
            "program": self.program,
            "platform": self.platform,
            "result": self.result,
            "exit_status": self.exit_status,
            "error": self.error,
            "duration_s": round(self.duration_s, 2),
            "sandbox": self.sandbox,
            "checks": [check.as_dict() for check in self.checks],
            "runs": self.runs,
            "requests": self.requests,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        report = cls(data["command"], data["platform"])
        report.program = data.get("program", report.program)
        report.sandbox = data.get("sandbox", {})
        report.runs = data.get("runs", [])
        report.requests = data.get("requests", [])
        report.duration_s = data.get("duration_s", 0.0)
        report.error = data.get("error")
        for item in data.get("checks", []):
            check = Check(item["number"], item["verdict"], item["summary"], item["evidence"])
            check.measurements = item.get("measurements", {})
            report.checks.append(check)
        return report


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False)


def _command_line(report: Report) -> str:
    import shlex

    return shlex.join(report.command)


def render_text(report: Report, *, width: int = 100) -> str:
    lines = [f"candor audit: {_command_line(report)}"]
    if report.error is not None:
        lines.append(f"cannot audit: {report.error}")
    else:
        lines.append(f"sandbox: {report.sandbox.get('summary', '?')}")
    lines.append("")
    for check in report.checks:
        lines.append(f"{check.verdict}  {check.number}. {check.title}")
        lines.append(f"      {check.summary}")
        for item in check.evidence[:12]:
            lines.append(f"      - {_cut(item, 2 * width)}")
        if len(check.evidence) > 12:
            lines.append(f"      - ... and {len(check.evidence) - 12} more (see --json)")
    counts = {
        verdict: sum(c.verdict == verdict for c in report.checks) for verdict in (PASS, FAIL, SKIP)
    }
    lines.append("")
    lines.append(
        f"{report.result.upper()}: {counts[PASS]} passed, {counts[FAIL]} failed, "
        f"{counts[SKIP]} skipped in {report.duration_s:.1f} s"
    )
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> str:
    icons = {PASS: "✅ PASS", FAIL: "❌ FAIL", SKIP: "⏭️ SKIP"}
    lines = [
        f"### Telemetry audit of `{_command_line(report)}`",
        "",
        f"Result: **{report.result}** (`candor audit`, {report.duration_s:.1f} s). "
        + (
            f"Sandbox: {report.sandbox.get('summary', '?')}."
            if report.error is None
            else f"Cannot audit: {report.error}."
        ),
        "",
        "| # | Check | Verdict | Summary |",
        "|---|-------|---------|---------|",
    ]
    for check in report.checks:
        summary = check.summary.replace("|", "\\|")
        lines.append(f"| {check.number} | {check.title} | {icons[check.verdict]} | {summary} |")
    failing = [check for check in report.checks if check.verdict == FAIL and check.evidence]
    for check in failing:
        lines += ["", f"**{check.number}. {check.name}** evidence:", ""]
        lines += [f"- `{_cut(item, 200)}`" for item in check.evidence[:10]]
    return "\n".join(lines) + "\n"


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
