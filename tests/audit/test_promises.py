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


@pytest.mark.parametrize(
    ("template", "broken", "caught_by"),
    [
        ("shell_cli.sh", "extra-field", 2),
        ("shell_cli.sh", "argument", 3),
        ("shell_cli.sh", "notice-stdout", 1),
        ("shell_cli.sh", "ignore-opt-out", 4),
        ("shell_cli.sh", "dns-opted-out", 4),
        ("node_cli.js", "connect-opted-out", 4),
    ],
)
def test_a_broken_promise_is_caught_by_its_check_only(
    tmp_path: Path, template: str, broken: str, caught_by: int
) -> None:
    cli = make_cli(tmp_path, template, broken)
    found = audit("--", cli, "init", tmp=tmp_path)
    assert found.verdicts == {**ALL_PASS, caught_by: "FAIL"}, found.result.stdout
    assert found.result.returncode == 1
    assert found.report["result"] == "fail"
    assert found.check(caught_by)["evidence"]


@pytest.mark.parametrize("template", ["shell_cli.sh", "node_cli.js"])
def test_the_compliant_variants_pass(tmp_path: Path, template: str) -> None:
    found = audit("--", make_cli(tmp_path, template), "init", tmp=tmp_path)
    assert found.verdicts == ALL_PASS, found.result.stdout
    assert found.result.returncode == 0


def test_the_evidence_names_what_leaked_and_where(tmp_path: Path) -> None:
    """The argument canary is found in the event body, and the extra field is named."""
    argument = audit("--", make_cli(tmp_path, "shell_cli.sh", "argument"), "init", tmp=tmp_path)
    assert any(
        "an argument" in line and "canary argument" in line and "(body)" in line
        for line in argument.check(3)["evidence"]
    )
    extra = audit("--", make_cli(tmp_path, "shell_cli.sh", "extra-field"), "init", tmp=tmp_path)
    evidence = extra.check(2)["evidence"]
    assert any("fields the schema does not list: shell" in line for line in evidence)


def test_opted_out_activity_is_observed_not_inferred(tmp_path: Path) -> None:
    """The DNS lookup and the refused connection never reach the endpoint, yet are reported."""
    dns = audit("--", make_cli(tmp_path, "shell_cli.sh", "dns-opted-out"), "init", tmp=tmp_path)
    assert any("updates.your-platform.com" in line for line in dns.check(4)["evidence"])
    node = make_cli(tmp_path, "node_cli.js", "connect-opted-out")
    connect = audit("--", node, "init", tmp=tmp_path)
    assert any("connect() to 127.0.0.1:9" in line for line in connect.check(4)["evidence"])
