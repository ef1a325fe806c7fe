"""The coverage-guided fuzzer (tests/server/fuzz_app.py) over the app finds nothing in its time.

Bounded by FUZZ_SECONDS inside `make test`; `make fuzz` runs it longer. A finding leaves its
input in the test's folder (crash-*) and the traceback in the output shown on failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.fuzz_app import seed_corpus

FUZZ_SECONDS = int(os.environ.get("FUZZ_SECONDS", "25"))
ROOT = Path(__file__).parents[2]


@pytest.mark.timeout(FUZZ_SECONDS + 180)
def test_atheris_finds_nothing(tmp_path: Path) -> None:
    """libFuzzer mutating real bodies and queries gets only 2xx/4xx JSON answers from the app."""
    corpus = tmp_path / "corpus"
    seeds = seed_corpus(corpus)
    command = [
        sys.executable, "-m", "tests.server.fuzz_app",
        f"-max_total_time={FUZZ_SECONDS}",
        "-timeout=30",  # one input: far above any real one
        "-rss_limit_mb=2048",
        f"-artifact_prefix={tmp_path}/",
        str(corpus),
    ]  # fmt: skip
    run = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=FUZZ_SECONDS + 120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    output = run.stdout + run.stderr
    findings = sorted(path.name for path in tmp_path.glob("crash-*"))
    assert run.returncode == 0 and not findings, (findings, output[-6000:])
    done = re.search(r"Done (\d+) runs in (\d+) second", output)
    assert done and int(done.group(1)) > seeds, output[-2000:]
    print(f"atheris: {done.group(1)} inputs in {done.group(2)} s from {seeds} seeds")  # the figure
