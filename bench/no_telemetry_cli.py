"""The benchmark's baseline: your-cli's own program with no telemetry library at all.

`bench/client_overhead.py` runs `python bench/no_telemetry_cli.py info` as the zero against
which the demo CLI's telemetry states are measured. It runs the very Click group `your-cli`
instruments (`cli` of src/candor/demo/your_cli.py, which imports candor only inside its
`main()`), from its cached bytecode, in the same package layout (a package `demo` holding the
module `your_cli`) but found under src/candor/ as a top-level package, so that not even the
`candor` package is loaded. What `your-cli` costs beyond this is telemetry, and only that.
"""

from __future__ import annotations

import os
import sys

# os.path, not pathlib: the baseline must load nothing your-cli does not (Click loads no pathlib).
PACKAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "candor")
# Top-level names candor's own modules would have if imported from PACKAGES by mistake.
CANDOR_NAMES = {"candor", "client", "integrations", "schema", "policy", "testing"}

if __name__ == "__main__":
    # Appended, not inserted first: every import of the program (Click, the stdlib) would
    # search this directory first, ~1.4 M instructions that your-cli does not pay, which
    # made telemetry's added cost look that much smaller.
    sys.path.append(os.path.normpath(PACKAGES))
    from demo import your_cli  # type: ignore[import-not-found]

    del sys.path[-1]
    if {name.split(".")[0] for name in sys.modules} & CANDOR_NAMES:
        sys.exit("no_telemetry_cli: the demo program imported candor: not a baseline")
    your_cli.cli.main(prog_name=your_cli.CLI_NAME)
