"""`candor audit` as a command: usage errors, no sandbox, the three report forms, --schema."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.audit.conftest import CANDOR, Audit, audit, make_cli, run_audit
from tests.support.imports import import_blocker

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no command to audit"),
        (["--", "no-such-program-here"], "command not found: no-such-program-here"),
        (["--opt-out", "NOVALUE", "--", "true"], "--opt-out expects VAR=VALUE"),
        (["--timeout", "0", "--", "true"], "--timeout must be a positive number"),
        (["--schema", "/nonexistent.json", "--", "true"], "--schema /nonexistent.json:"),
        (["--workdir", "/nonexistent", "--", "true"], "--workdir /nonexistent: not a directory"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_audit(*args, tmp=tmp_path, json_form=False)
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_schema_is_a_usage_error(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "no-such-type"}')
    result = run_audit("--schema", str(schema), "--", "true", tmp=tmp_path, json_form=False)
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2 and "not a valid JSON Schema" in result.stderr


@pytest.mark.parametrize(
    "unshare",
    [None, "#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n"],
    ids=["missing", "refused"],
)
def test_without_a_namespace_nothing_runs_and_every_check_is_skipped(
    tmp_path: Path, unshare: str | None
) -> None:
    """The audit never runs the program unconfined to find out: exit 2 with the reason."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if unshare is not None:
        (bin_dir / "unshare").write_text(unshare)
        (bin_dir / "unshare").chmod(0o755)
    marker = tmp_path / "it-ran"
    program = bin_dir / "program"
    program.write_text(f"#!/bin/sh\ntouch {marker}\n")
    program.chmod(0o755)
    result = run_audit("--", str(program), tmp=tmp_path, env={"PATH": str(bin_dir)},
                       json_form=False)  # fmt: skip
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2
    reason = "not installed" if unshare is None else "Operation not permitted"
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()
    found = subprocess.run(
        [*CANDOR, "audit", "--json", "--", str(program)],
        env={"PATH": str(bin_dir), "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(found.stdout)
    assert (found.returncode, report["result"], report["exit_status"]) == (2, "error", 2)
    assert reason in report["error"]
    assert [check["verdict"] for check in report["checks"]] == ["SKIP"] * 8
    assert not marker.exists()


@pytest.fixture(scope="module")
def shell_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A shell CLI with an extra field, audited in the text and the Markdown forms."""
    tmp = tmp_path_factory.mktemp("forms")
    cli = make_cli(tmp, "shell_cli.sh", "extra-field")
    found = {}
    for form in ("text", "markdown"):
        args = ["--markdown"] if form == "markdown" else []
        result = run_audit(*args, "--", cli, "init", tmp=tmp, json_form=False)
        assert isinstance(result, subprocess.CompletedProcess)
        assert result.returncode == 1, result.stderr
        found[form] = result.stdout
    return found


def test_the_text_report_lists_each_check_and_the_evidence(shell_reports: dict[str, str]) -> None:
    text = shell_reports["text"]
    assert text.startswith("candor audit: ")
    assert "FAIL  2. every event validates against the schema" in text
    assert text.count("\nPASS  ") == 7
    assert "- second run: fields the schema does not list: shell" in text
    assert text.rstrip().splitlines()[-1].startswith("FAIL: 7 passed, 1 failed, 0 skipped in ")


def test_the_markdown_summary_is_a_table_with_the_failing_evidence(
    shell_reports: dict[str, str],
) -> None:
    summary = shell_reports["markdown"]
    assert summary.startswith("### Telemetry audit of `")
    assert "| 2 | every event validates against the schema" in summary
    assert "❌ FAIL" in summary and summary.count("✅ PASS") == 7
    assert "**2. schema** evidence:" in summary


def test_a_schema_that_allows_the_field_makes_the_extra_field_pass(tmp_path: Path) -> None:
    """--schema FILE replaces the nine fields: the author's own schema is what is checked."""
    from importlib.resources import files

    schema = json.loads(files("candor").joinpath("schema.json").read_text())
    schema["properties"]["shell"] = {"type": "string"}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    cli = make_cli(tmp_path, "shell_cli.sh", "extra-field")
    found = audit("--schema", str(path), "--", cli, "init", tmp=tmp_path)
    assert found.verdicts == dict.fromkeys(range(1, 9), "PASS"), found.result.stdout


def test_the_json_report_has_the_documented_fields(tmp_path: Path) -> None:
    found = audit("--disable", "", "--", make_cli(tmp_path, "shell_cli.sh"), "init", tmp=tmp_path)
    report = found.report
    assert set(report) == {
        "format", "command", "program", "platform", "result", "exit_status", "error", "duration_s",
        "sandbox", "checks", "runs", "requests",
    }  # fmt: skip
    assert report["format"] == 1 and report["platform"] == "your-platform"
    assert [check["name"] for check in report["checks"]] == [
        "first-run", "schema", "canaries", "opt-out", "disable", "endpoint-down",
        "do-not-track", "plain-text",
    ]  # fmt: skip
    assert found.check(5)["verdict"] == "SKIP" and "--disable ''" in found.check(5)["summary"]
    assert set(found.check(6)["measurements"]) == {
        "opted_out_ms", "added_ms_endpoint_down", "added_ms_endpoint_hanging",
    }  # fmt: skip
    run = report["runs"][0]
    assert set(run) >= {"label", "argv", "exit_status", "timed_out", "wall_ms", "network"}
    # What was sent, decoded: the sceptic reads the events themselves.
    sent = report["requests"][0]
    assert (sent["run"], sent["method"], sent["target"]) == ("second run", "POST", "/v1/event")
    assert sent["events"][0]["command"] == "init" and sent["problem"] is None


@pytest.fixture
def world_readable() -> Iterator[str]:
    """A directory an unprivileged user can read, write and run programs from."""
    path = tempfile.mkdtemp(prefix="candor-audit-test-")
    os.chmod(path, 0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def traversable_by_others(*paths: str) -> Iterator[None]:
    """Let other users pass through every directory above `paths` for the block's duration.

    A checkout under a private directory (`mktemp -d` makes 0700 ones) is out of `nobody`'s
    reach; its files are readable, only a directory above them cannot be passed through.
    """
    changed: dict[str, int] = {}
    for path in paths:
        for directory in [path, *map(str, Path(path).parents)]:
            mode = os.stat(directory).st_mode
            if not mode & 0o001 and directory not in changed:
                changed[directory] = mode
                os.chmod(directory, mode | 0o001)
    try:
        yield
    finally:
        for directory, mode in changed.items():
            os.chmod(directory, mode)


def test_an_unprivileged_user_can_audit_in_a_user_namespace(world_readable: str) -> None:
    """As root, drop to `nobody` (setpriv) and audit: the sandbox needs no privilege."""
    if os.geteuid() != 0:
        pytest.skip("not root: every other test here already ran the audit unprivileged")
    import jsonschema

    import candor

    source = os.path.dirname(os.path.dirname(candor.__file__))
    libraries = os.path.dirname(os.path.dirname(jsonschema.__file__))
    cli = make_cli(Path(world_readable), "shell_cli.sh")
    python = shutil.which("python3", path="/usr/bin")
    if python is None or not os.access(python, os.X_OK):
        pytest.skip("no /usr/bin/python3 for the unprivileged user")
    with traversable_by_others(source, libraries):
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
             python, "-m", "candor", "audit", "--json", "--", cli, "init"],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": world_readable,
                 "PYTHONPATH": f"{source}:{libraries}", "HOME": world_readable},
            cwd=world_readable,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )  # fmt: skip
    found = Audit(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert found.report["sandbox"]["user_namespace"] is True
    assert found.verdicts == dict.fromkeys(range(1, 9), "PASS")
    assert not [name for name in os.listdir(world_readable) if name.startswith("candor-audit-")]


def test_without_the_audit_extra_the_install_command_is_named(tmp_path: Path) -> None:
    """No jsonschema: `candor audit` says `pip install 'candor[audit]'`, exit 2, no traceback."""
    blocker = import_blocker(tmp_path, "jsonschema")
    result = run_audit("--", "true", tmp=tmp_path, env={"PYTHONPATH": blocker},
                       json_form=False)  # fmt: skip
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2
    assert "pip install 'candor[audit]'" in result.stderr and "Traceback" not in result.stderr


def test_platform_names_the_config_directory_and_the_variables(tmp_path: Path) -> None:
    """--platform acme.cloud: ~/.acme.cloud/, ACME_CLOUD_TELEMETRY_ENDPOINT and _OPT_OUT."""
    cli = make_cli(tmp_path, "shell_cli.sh", platform="acme.cloud")
    found = audit("--platform", "acme.cloud", "--", cli, "init", tmp=tmp_path)
    assert found.verdicts == dict.fromkeys(range(1, 9), "PASS"), found.result.stdout
    # Audited by Candor's default names, it reads neither variable: no event reaches the
    # capture endpoint (nothing to validate, none after enable), and "opted out" it still
    # writes its config and looks up its real endpoint's host.
    default = audit("--", cli, "init", tmp=tmp_path)
    assert default.verdicts == {
        **dict.fromkeys(range(1, 9), "PASS"),
        2: "SKIP",
        4: "FAIL",
        5: "FAIL",
    }, default.result.stdout
    assert "YOUR_PLATFORM_TELEMETRY_ENDPOINT" in default.check(2)["summary"]
    assert any("telemetry.your-platform.com" in line for line in default.check(4)["evidence"])
