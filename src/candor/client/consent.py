"""Whether telemetry may run, and why: the environment, then the config, then the default.

Precedence, first match wins:

1. `DO_NOT_TRACK` set to anything but "", "0" or "false" (any case): off;
2. `{P}_TELEMETRY_OPT_OUT` set to anything but "", "0", "false" or "no" (any case): off for
   this execution. A user who set the opt-out variable meant to opt out, whatever the word
   ("on", "y", "2"); only the usual spellings of "not set" leave telemetry on;
3. the config's `telemetry.enabled` (`telemetry enable|disable`); a config telemetry cannot
   read counts as off ("config unreadable"), since it may hold the user's "off";
4. the default: on, after the one-time notice.

The environment is read once into `Switches` and passed down; nothing here touches a file.
Where events may go is a consent rule too: https://, or http:// to loopback only
(`endpoint_problem`). Both are implemented in candor.client.telemetry, which every run loads
(one module more costs each run ~0.35 M instructions); this module holds the config's part,
the first-run notice, and the names of all the rules. `TelemetryStatus`, the answer of
`telemetry status`, is in `candor.client.status`.
"""

from __future__ import annotations

# The environment's part (rules 1 and 2, and the other variables) and the endpoint rule live in
# candor.client.telemetry, which every run loads anyway: a run loads this module only to show
# the notice or answer `telemetry status`. The names are also here, where the rules are.
from candor.client.telemetry import DO_NOT_TRACK as DO_NOT_TRACK
from candor.client.telemetry import LOOPBACK_HOSTS as LOOPBACK_HOSTS
from candor.client.telemetry import Switches as Switches
from candor.client.telemetry import do_not_track as do_not_track
from candor.client.telemetry import endpoint_problem as endpoint_problem
from candor.client.telemetry import env_prefix as env_prefix
from candor.client.telemetry import flag as flag
from candor.client.telemetry import is_loopback as is_loopback
from candor.client.telemetry import opts_out as opts_out

SOURCE_CONFIG = "config"
SOURCE_DEFAULT = "default"
SOURCE_UNREADABLE = "config unreadable"
SOURCE_NO_HOME = "no home directory"  # HOME missing, relative, or not a directory
NOTICE_WIDTH = 79  # columns: fits the narrowest common terminal without wrapping mid-word


def config_decision(enabled: bool | None) -> tuple[bool, str]:
    """On or off from the config's `telemetry.enabled` (None: never chosen, default on)."""
    if enabled is None:
        return True, SOURCE_DEFAULT
    return enabled, SOURCE_CONFIG


def notice_text(cli_name: str, prefix: str, policy_url: str) -> str:
    """The one-time notice, printed on stderr by the first run with telemetry on."""
    import textwrap  # the first run only

    from candor.schema import FIELD_NAMES

    paragraphs = (
        f"{cli_name} collects anonymous usage telemetry to learn what to improve. "
        f"Each command sends only: {', '.join(FIELD_NAMES)}. Never arguments, file paths or "
        "contents, environment variables, or who you are.",
        f"Policy: {policy_url}",
        f"To turn it off: `{cli_name} telemetry disable`, or {prefix}_TELEMETRY_OPT_OUT=1 for "
        "one command, or DO_NOT_TRACK=1.",
        "This notice is shown once; this run sent nothing.",
    )
    return "".join(
        textwrap.fill(text, NOTICE_WIDTH, break_long_words=False, break_on_hyphens=False) + "\n"
        for text in paragraphs
    )
