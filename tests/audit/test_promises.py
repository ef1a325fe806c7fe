"""`candor audit` on CLIs that keep every promise, and on CLIs that each break exactly one.

Every broken CLI must be caught by the check meant for it and by no other: the test asserts all
eight verdicts, so a check that fires for the wrong reason fails it as surely as one that misses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.audit.conftest import YOUR_CLI, audit, make_cli

if TYPE_CHECKING:
    from pathlib import Path

ALL_PASS = dict.fromkeys(range(1, 9), "PASS")


def test_your_cli_init_passes_every_check(tmp_path: Path) -> None:
    found = audit("--", YOUR_CLI, "init", tmp=tmp_path)
    assert found.verdicts == ALL_PASS, found.result.stdout
    assert found.result.returncode == 0
    report = found.report
    assert report["result"] == "pass"
    assert report["sandbox"]["network_namespace"] and report["sandbox"]["interfaces"] == ["lo"]
    assert "strace" in report["sandbox"]["tracer"]
    # Events really flowed and were checked, and the first run sent nothing.
    assert "the notice run sent nothing" in found.check(1)["summary"]
    assert "request(s) again" in found.check(5)["summary"]
    assert found.check(7)["summary"].startswith("DO_NOT_TRACK=1 honoured")
    assert found.check(6)["measurements"]["added_ms_endpoint_hanging"] is not None


def test_your_cli_build_in_a_sample_project_passes_every_check(tmp_path: Path) -> None:
    """--workdir: every run starts in a copy of the project (build packs the canary file too)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "your-platform.toml").write_text('name = "hello-web"\nversion = "1.4.0"\n')
    found = audit("--workdir", str(project), "--", YOUR_CLI, "build", tmp=tmp_path)
    assert found.verdicts == ALL_PASS, found.result.stdout
    first = next(run for run in found.report["runs"] if run["label"] == "first run")
    assert first["exit_status"] == 0  # the manifest was there: a real build, not an error
    assert list(project.iterdir()) == [project / "your-platform.toml"]  # the copy was used


@pytest.mark.parametrize(
    ("template", "broken", "caught_by", "evidence"),
    [
        ("shell_cli.sh", "extra-field", 2, "second run: fields the schema does not list: shell"),
        ("shell_cli.sh", "argument", 3, "POST /v1/event body carries an argument (canaryarg"),
        ("shell_cli.sh", "notice-stdout", 1, "first run: stdout differs from an opted-out run"),
        ("shell_cli.sh", "ask", 1, "first run: read its stdin, which an opted-out run did not"),
        ("shell_cli.sh", "ignore-opt-out", 4, "first run: created ~/.your-platform/config.json"),
        # Observed, not inferred: neither ever reaches the capture endpoint.
        ("shell_cli.sh", "dns-opted-out", 4, "DNS lookup of 'updates.your-platform.com'"),
        # Only loopback exists in the sandbox: the attempt is recorded and goes nowhere.
        ("shell_cli.sh", "remote-opted-out", 4, "connect() to 198.51.100.7:80 = -1 ENETUNREACH"),
        ("node_cli.js", "connect-opted-out", 4, "connect() to 127.0.0.1:9 = -1"),
        ("shell_cli.sh", "ignore-disable", 5, "after disable: connect() to 127.0.0.1:"),
        ("shell_cli.sh", "random-id", 2, "installation_id changed between runs"),
        ("shell_cli.sh", "noisy", 6, "endpoint down #1: printed on stderr: 'shell-cli: could"),
        ("shell_cli.sh", "plain-http", 8, "connect() to 192.0.2.80:80"),
    ],
)
def test_a_broken_promise_is_caught_by_its_check_only(
    tmp_path: Path, template: str, broken: str, caught_by: int, evidence: str
) -> None:
    cli = make_cli(tmp_path, template, broken)
    found = audit("--", cli, "init", tmp=tmp_path)
    assert found.verdicts == {**ALL_PASS, caught_by: "FAIL"}, found.result.stdout
    assert found.result.returncode == 1
    assert found.report["result"] == "fail"
    lines = found.check(caught_by)["evidence"]
    assert any(evidence in line for line in lines), lines


@pytest.mark.parametrize("template", ["shell_cli.sh", "node_cli.js"])
def test_the_compliant_variants_pass(tmp_path: Path, template: str) -> None:
    found = audit("--", make_cli(tmp_path, template), "init", tmp=tmp_path)
    assert found.verdicts == ALL_PASS, found.result.stdout
    assert found.result.returncode == 0


def test_do_not_track_is_a_recommendation_unless_claimed(tmp_path: Path) -> None:
    """Ignoring DO_NOT_TRACK passes with a note; listed as an opt-out, it fails checks 4 and 7."""
    cli = make_cli(tmp_path, "shell_cli.sh", "ignore-dnt")
    unclaimed = audit("--", cli, "init", tmp=tmp_path)
    assert unclaimed.verdicts == ALL_PASS, unclaimed.result.stdout
    assert unclaimed.check(7)["summary"].startswith("DO_NOT_TRACK=1 not honoured")
    assert any("connect() to 127.0.0.1:" in line for line in unclaimed.check(7)["evidence"])
    claims = ["--opt-out", "YOUR_PLATFORM_TELEMETRY_OPT_OUT=1", "--opt-out", "DO_NOT_TRACK=1"]
    claimed = audit(*claims, "--", cli, "init", tmp=tmp_path)
    assert claimed.verdicts == {**ALL_PASS, 4: "FAIL", 7: "FAIL"}, claimed.result.stdout
    assert any(
        line.startswith("opted out by DO_NOT_TRACK") for line in claimed.check(4)["evidence"]
    )
