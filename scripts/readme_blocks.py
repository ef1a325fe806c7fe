"""Text that README.md shows and `cog` regenerates from the code (`make lint` checks for drift)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
# Help texts wrap to the terminal: pin the width so the README does not depend on who ran cog.
ENV = {**os.environ, "COLUMNS": "88", "TERM": "dumb"}


def command_output(*argv: str) -> str:
    """The stdout of one of the project's console scripts, in a fenced block."""
    result = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, env=ENV, check=True
    )
    return f"```\n$ {' '.join(argv)}\n{result.stdout.rstrip()}\n```"


def first_run_notice() -> str:
    """The demo CLI's one-time notice, as its first run prints it on stderr."""
    from candor.client.notice import notice_text
    from candor.demo.your_cli import CLI_NAME, POLICY_URL

    return f"```\n{notice_text(CLI_NAME, 'YOUR_PLATFORM', POLICY_URL).rstrip()}\n```"


def policy() -> str:
    """The generated policy, two heading levels down so it nests under the README's section."""
    from candor.policy import render_policy

    lines = []
    in_code = False  # a "# comment" inside a shell example is not a heading
    for line in render_policy(cli="your-cli", platform="your-platform").rstrip().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        lines.append("##" + line if line.startswith("#") and not in_code else line)
    return "\n".join(lines)


# The telemetry examples run the real `your-cli` in a throw-away HOME prepared with this ID, so
# the README shows the commands' own output; the HOME's path is shown as "~".
EXAMPLE_ID = "1d78bc73-a12a-45d5-8e31-1256541bc7b7"
# `telemetry show` prints times relative to now: they are shown as these, in order of appearance.
EXAMPLE_TIMES = ("2026-11-24T20:09:41Z", "2026-11-24T20:07:58Z", "2026-11-24T20:07:59Z",
                 "2026-11-24T18:31:12Z", "2026-11-24T18:31:13Z")  # fmt: skip


def telemetry_command(*argv: str, history: bool = False) -> str:
    """`your-cli telemetry ARGV` in a HOME past its first run (with sent and queued events if
    `history`), in a fenced block."""
    import re
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        directory = Path(home) / ".your-platform"
        directory.mkdir(mode=0o700)
        config = {"installation_id": EXAMPLE_ID, "telemetry": {"notice_shown": True}}
        (directory / "config.json").write_text(f"{json_text(config)}\n")
        if history:
            _example_history(str(directory))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, **ENV_PINNED}
        result = subprocess.run(
            [str(BIN / "your-cli"), "telemetry", *argv],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        text = result.stdout.rstrip().replace(home, "~")
    seen: dict[str, str] = {}
    text = re.sub(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        lambda match: seen.setdefault(match.group(0), EXAMPLE_TIMES[len(seen)]),
        text,
    )
    return f"```\n$ your-cli telemetry {' '.join(argv)}\n{text}\n```"


ENV_PINNED = {"COLUMNS": "88", "TERM": "dumb", "LANG": "C.UTF-8"}


def json_text(value: object) -> str:
    import json

    return json.dumps(value)


def _example_history(directory: str) -> None:
    """Two events the collector acknowledged and one still queued, an hour apart."""
    import time

    from candor.client.history import add_sent
    from candor.client.spool import Spool, decode_records, encode_record

    now = time.time()
    event = {
        "event_version": "1.0", "installation_id": EXAMPLE_ID, "cli_version": "0.2.1",
        "command": "build", "os_arch": "linux-x86_64", "duration_ms": 412, "status": "success",
        "error_code": None, "is_interactive": True,
    }  # fmt: skip
    spool = Spool(directory)
    sent = [
        ({**event, "command": "init", "duration_ms": 9}, now - 5400),
        ({**event, "status": "failure", "error_code": "invalid_manifest"}, now - 3600),
    ]
    for item, at in sent:
        (record,), _ = decode_records(encode_record(item, at))
        add_sent(spool, [record], at + 1)
    with open(spool.path, "wb") as log:
        log.write(encode_record({**event, "command": "deploy", "duration_ms": 3}, now - 60))
