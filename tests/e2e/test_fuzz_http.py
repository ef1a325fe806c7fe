"""Schemathesis against a real `candor serve`, from its own /openapi.json, every check on.

Bodies, headers, query parameters, methods and paths of every documented operation, in
positive and negative mode: no 5xx, no dropped connection, every schema-valid request
accepted and every schema-violating one refused (tests/e2e/schemathesis_hooks.py holds the
rules no schema can state), and the collector healthy afterwards with only valid events
stored. Bounded by FUZZ_SECONDS (default below) inside `make test`; `make fuzz` runs longer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.collector import Collector

FUZZ_SECONDS = int(os.environ.get("FUZZ_SECONDS", "25"))
HERE = Path(__file__).parent
SCHEMATHESIS = str(Path(sys.executable).with_name("st"))


@pytest.mark.timeout(FUZZ_SECONDS + 180)
def test_schemathesis_finds_nothing(collector: Collector, tmp_path: Path) -> None:
    """`st run --checks all` over the whole documented surface reports no failure."""
    command = [
        SCHEMATHESIS, "--no-color", "--config-file", str(HERE / "schemathesis.toml"),
        "run", f"{collector.url}/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {collector.admin_token}",
        "--max-time", str(FUZZ_SECONDS),
        "--workers", "2",
        "--request-timeout", "30",
        "--report-dir", str(tmp_path / "report"),
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")}
    run = subprocess.run(
        command,
        cwd=tmp_path,  # where schemathesis keeps its own files
        env=env,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated and int(generated.group(1)) > 0, output[-2000:]
    print(f"schemathesis: {generated.group(0)} cases in {FUZZ_SECONDS} s")  # the figure
    collector.assert_survived_fuzzing()
