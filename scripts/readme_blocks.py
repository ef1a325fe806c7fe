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
    from candor.client.consent import notice_text
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
