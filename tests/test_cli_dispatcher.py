"""The `candor` dispatcher: help, unknown commands, and a missing extra without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from candor import __version__
from candor.cli import SUBCOMMANDS
from tests.support.imports import import_blocker

CANDOR = str(Path(sys.executable).with_name("candor"))


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CANDOR, *args], capture_output=True, text=True, timeout=60, check=False, **kwargs
    )  # type: ignore[call-overload, no-any-return]


def test_help_lists_every_subcommand() -> None:
    """`candor --help` names each subcommand and exits 0; no argument is a usage error."""
    result = run("--help")
    assert result.returncode == 0
    for name in SUBCOMMANDS:
        assert f"  {name} " in result.stdout
    assert run().returncode == 2


def test_version() -> None:
    """`candor --version` prints the package version."""
    assert run("--version").stdout.strip() == f"candor {__version__}"


def test_unknown_command_is_a_usage_error() -> None:
    """An unknown subcommand exits 2 with a one-line reason on stderr and no traceback."""
    result = run("frobnicate")
    assert result.returncode == 2
    assert "unknown command 'frobnicate'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_extra_prints_the_install_command(tmp_path: Path) -> None:
    """Without the server extra, `candor serve` says which pip command to run, exit 2."""
    # The real interpreter and the real dispatcher, only the extra's packages unimportable.
    blocker = import_blocker(tmp_path, "starlette", "uvicorn", "duckdb", "msgspec")
    result = run("serve", "--help", env={"PYTHONPATH": blocker, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    assert "pip install 'candor[server]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_subcommand_reports_errors_the_same_way(tmp_path: Path) -> None:
    """One CommandError type: each failure is one `candor NAME: …` line with its exit status."""
    missing = str(tmp_path / "missing.duckdb")
    cases = {
        ("serve", "--retention", "1m"): 2,
        ("report", "--store", missing): 1,
        ("report", "--store", missing, "--since", "36h"): 2,
        ("report", "--url", "http://[::1", "--token", "x"): 2,
        ("export", "--store", missing, "--format", "csv", "-o", str(tmp_path / "x.csv")): 1,
        ("prune", "--store", missing, "--retention", "1m"): 2,
        ("generate", "--events", "0", "--store", missing): 2,
        ("policy", "--cli", "not a name!"): 2,
    }
    for args, status in cases.items():
        result = run(*args, cwd=tmp_path)
        lines = result.stderr.splitlines()
        assert result.returncode == status, (args, result.stderr)
        assert len(lines) == 1 and lines[0].startswith(f"candor {args[0]}: "), (args, lines)


def test_exit_usage_is_defined_once() -> None:
    """The exit statuses live in candor.cli.errors; no subcommand defines its own."""
    from candor.cli import errors

    sources = Path(errors.__file__).parent.glob("*.py")
    definers = [path.name for path in sources if "EXIT_USAGE =" in path.read_text()]
    assert definers == ["errors.py"]
