"""Running `candor audit` as a user would, on your-cli and on small CLIs built to break one promise.

`tests/audit/clis/` holds the templates: a POSIX shell + curl CLI and a Node.js CLI that keep every
promise, each with a `@BREAK@` placeholder that a test replaces by the name of the promise to break.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CLIS = Path(__file__).parent / "clis"
CANDOR = [sys.executable, "-m", "candor"]
YOUR_CLI = str(Path(sys.executable).with_name("your-cli"))
AUDIT_TIMEOUT_S = 100  # a whole audit; each run of the program inside has its own timeout


class Audit:
    """One finished `candor audit --json` run: its process result and its parsed report."""

    def __init__(self, result: subprocess.CompletedProcess[str]) -> None:
        self.result = result
        self.report: dict[str, Any] = json.loads(result.stdout) if result.stdout else {}

    @property
    def verdicts(self) -> dict[int, str]:
        return {check["number"]: check["verdict"] for check in self.report["checks"]}

    def check(self, number: int) -> dict[str, Any]:
        return next(check for check in self.report["checks"] if check["number"] == number)


def run_audit(
    *args: str, tmp: Path, env: dict[str, str] | None = None, json_form: bool = True
) -> Audit | subprocess.CompletedProcess[str]:
    """`candor audit [--json] ARGS` with TMPDIR=`tmp` (so a test can see what is left there)."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp),
        **(env or {}),
    }
    result = subprocess.run(
        [*CANDOR, "audit", *(["--json"] if json_form else []), *args],
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=AUDIT_TIMEOUT_S,
        check=False,
    )
    return Audit(result) if json_form and result.returncode in (0, 1) else result


def audit(*args: str, tmp: Path, env: dict[str, str] | None = None) -> Audit:
    """A finished audit's report; asserts that it left nothing in its temporary directory."""
    found = run_audit(*args, tmp=tmp, env=env)
    assert isinstance(found, Audit), f"audit failed: {found.returncode}\n{found.stderr}"
    assert left_behind(tmp) == []
    return found


def left_behind(tmp: Path) -> list[str]:
    """The audit work directories still in `tmp` (each audit must remove its own)."""
    return [path.name for path in tmp.iterdir() if path.name.startswith("candor-audit-")]


def make_cli(
    directory: Path, template: str, broken: str = "", platform: str = "your-platform"
) -> str:
    """Copy `clis/<template>` into `directory`, breaking the promise `broken`; its path."""
    prefix = "".join(char if char.isalnum() else "_" for char in platform.upper())
    text = (CLIS / template).read_text().replace("@BREAK@", broken)
    text = text.replace("@PLATFORM@", platform).replace("@PREFIX@", prefix)
    path = directory / f"{template.split('.')[0]}-{broken or 'compliant'}"
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


@pytest.fixture(scope="session", autouse=True)
def _sandbox_available() -> None:
    """These tests need util-linux unshare, strace, curl and node (make system-deps)."""
    for tool in ("unshare", "strace", "curl", "node"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run `make system-deps`")
