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
(`endpoint_problem`). Each rule is implemented where a run needs it (one module more costs
each run ~0.3 M instructions): the environment's in the package candor.client (private
names), which every run loads, the endpoint's in candor.client.recording, which a recording
run loads. This module holds the config's part and the names of all the rules, for
`telemetry status` (`candor.client.status`); the first-run notice is in `candor.client.notice`.
"""

from __future__ import annotations

# The rules' implementations, under the names this module documents.
from candor.client import _DO_NOT_TRACK as DO_NOT_TRACK
from candor.client import _do_not_track as do_not_track
from candor.client import _env_prefix as env_prefix
from candor.client import _flag as flag
from candor.client import _opts_out as opts_out
from candor.client import _Switches as Switches
from candor.client.recording import LOOPBACK_HOSTS as LOOPBACK_HOSTS
from candor.client.recording import endpoint_problem as endpoint_problem
from candor.client.recording import is_loopback as is_loopback

__all__ = [
    "DO_NOT_TRACK", "LOOPBACK_HOSTS", "SOURCE_CONFIG", "SOURCE_DEFAULT", "SOURCE_NO_HOME",
    "SOURCE_UNREADABLE", "Switches", "config_decision", "do_not_track", "endpoint_problem",
    "env_prefix", "flag", "is_loopback", "opts_out",
]  # fmt: skip

SOURCE_CONFIG = "config"
SOURCE_DEFAULT = "default"
SOURCE_UNREADABLE = "config unreadable"
SOURCE_NO_HOME = "no home directory"  # HOME missing, relative, or not a directory


def config_decision(enabled: bool | None) -> tuple[bool, str]:
    """On or off from the config's `telemetry.enabled` (None: never chosen, default on)."""
    if enabled is None:
        return True, SOURCE_DEFAULT
    return enabled, SOURCE_CONFIG
