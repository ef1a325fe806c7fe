"""Whether telemetry may run, and why: the environment, then the config, then the default.

Precedence, first match wins:

1. `DO_NOT_TRACK` set to anything but "", "0" or "false" (any case): off;
2. `{P}_TELEMETRY_OPT_OUT` set to anything but "", "0", "false" or "no" (any case): off for
   this execution. A user who set the opt-out variable meant to opt out, whatever the word
   ("on", "y", "2"); only the usual spellings of "not set" leave telemetry on;
3. the config's `telemetry.enabled` (`telemetry enable|disable`); a config telemetry cannot
   read counts as off ("config unreadable"), since it may hold the user's "off";
4. the default: on, after the one-time notice.

The environment is read once into `Switches` (telemetry.py) and passed down; nothing here
touches a file.
Also here: the endpoint rule (https://, or http:// to loopback only: where events may go) and
the first-run notice. `TelemetryStatus`, the answer of `telemetry status`, is in
`candor.client.status`: no recording run needs it.
"""

from __future__ import annotations

# The environment's part (rules 1 and 2, and the other variables) lives in
# candor.client.telemetry, which every run loads anyway: a run the environment opts out then
# loads no other module of the client. The names are also here, where the rules are.
from candor.client.telemetry import DO_NOT_TRACK as DO_NOT_TRACK
from candor.client.telemetry import Switches as Switches
from candor.client.telemetry import do_not_track as do_not_track
from candor.client.telemetry import env_prefix as env_prefix
from candor.client.telemetry import flag as flag
from candor.client.telemetry import opts_out as opts_out

SOURCE_CONFIG = "config"
SOURCE_DEFAULT = "default"
SOURCE_UNREADABLE = "config unreadable"
SOURCE_NO_HOME = "no home directory"  # HOME missing, relative, or not a directory
LOOPBACK_HOSTS = ("localhost", "::1")
NOTICE_WIDTH = 79  # columns: fits the narrowest common terminal without wrapping mid-word


def config_decision(enabled: bool | None) -> tuple[bool, str]:
    """On or off from the config's `telemetry.enabled` (None: never chosen, default on)."""
    if enabled is None:
        return True, SOURCE_DEFAULT
    return enabled, SOURCE_CONFIG


def _host(authority: str) -> str | None:
    authority = authority.rpartition("@")[2]  # drop any user:password@
    if authority.startswith("["):  # [IPv6]:port
        end = authority.find("]")
        return authority[1:end].lower() if end > 0 else None
    host, _, port = authority.partition(":")
    if port and not port.isdigit():
        return None
    return host.lower()


def is_loopback(host: str) -> bool:
    """True for localhost, ::1 and 127.0.0.0/8 written as four decimal numbers."""
    if host in LOOPBACK_HOSTS:
        return True
    parts = host.split(".")
    return (
        len(parts) == 4
        and parts[0] == "127"
        and all(part.isdigit() and int(part) <= 255 for part in parts)
    )


def endpoint_problem(url: str) -> str | None:
    """Why the client refuses to send to `url`, or None when it may.

    https:// anywhere (certificates are always verified by the sender), plain http:// only to
    a loopback address: events must not cross a network unencrypted. Parsed by hand, because
    urllib.parse would cost every run of the host CLI an import.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return f"the endpoint {url!r} is not a URL (https://host/v1/event)"
    scheme = scheme.lower()
    if scheme not in ("https", "http"):
        return f"the endpoint must be an https:// URL, not {scheme}://"
    host = _host(rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0])
    if not host:
        return f"the endpoint {url!r} has no valid host"
    if scheme == "http" and not is_loopback(host):
        return "plain http:// is only allowed to a loopback address (127.0.0.1, ::1, localhost)"
    return None


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
