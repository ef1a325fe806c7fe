"""The benchmark's baseline: your-cli's own program with no telemetry library at all.

`bench/client_overhead.py` runs `python bench/no_telemetry_cli.py info` as the zero against
which the demo CLI's telemetry states are measured. It runs `candor.demo.commands`, the very
Click program `your-cli` instruments, imported by its path as a top-level module so that not
even the `candor` package is loaded, and from its cached bytecode, as an installed CLI is.
"""

from __future__ import annotations

import os
import sys

# os.path, not pathlib: the baseline must load nothing your-cli does not (Click loads no pathlib).
DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "candor", "demo")

if __name__ == "__main__":
    sys.path.insert(0, os.path.normpath(DEMO))
    import commands  # type: ignore[import-not-found]

    del sys.path[0]
    if any(name == "candor" or name.startswith("candor.") for name in sys.modules):
        sys.exit("no_telemetry_cli: candor.demo.commands imported candor: not a baseline")
    commands.cli.main(prog_name=commands.CLI_NAME)
