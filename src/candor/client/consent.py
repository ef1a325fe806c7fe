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
Also here: the endpoint rule (https://, or http:// to loopback only: where events may go) and
the first-run notice. `TelemetryStatus`, the answer of `telemetry status`, is in
`candor.client.status`: no recording run needs it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from collections.abc import Mapping

DO_NOT_TRACK = "DO_NOT_TRACK"  # https://consoledonottrack.com, shared by many tools
SOURCE_CONFIG = "config"
SOURCE_DEFAULT = "default"
SOURCE_UNREADABLE = "config unreadable"
SOURCE_NO_HOME = "no home directory"  # HOME missing, relative, or not a directory
_FLAG_ON = ("1", "true", "yes")
_DNT_OFF = ("", "0", "false")
_OPT_OUT_UNSET = ("", "0", "false", "no")
LOOPBACK_HOSTS = ("localhost", "::1")
NOTICE_WIDTH = 79  # columns: fits the narrowest common terminal without wrapping mid-word


def env_prefix(platform: str) -> str:
    """The variables' prefix for a platform name: "your-platform" gives "YOUR_PLATFORM"."""
    return "".join(char if char.isalnum() else "_" for char in platform.upper())


def flag(value: str | None) -> bool:
    """True for 1, true or yes in any case (the form of DEBUG, which turns something on)."""
    return value is not None and value.strip().lower() in _FLAG_ON


def do_not_track(value: str | None) -> bool:
    """True when DO_NOT_TRACK asks not to track: any value but empty, 0 or false."""
    return value is not None and value.strip().lower() not in _DNT_OFF


def opts_out(value: str | None) -> bool:
    """True when {P}_TELEMETRY_OPT_OUT asks for no telemetry: any value but empty, 0, false, no.

    Stricter readings ("1, true or yes only") silently ignored `on`, `y` or `2`: a variable
    that exists only to turn telemetry off errs on the side of off.
    """
    return value is not None and value.strip().lower() not in _OPT_OUT_UNSET


class Switches:
    """What the environment says about telemetry, read once when `Telemetry` is created."""

    __slots__ = ("debug", "do_not_track", "endpoint", "opt_out", "prefix", "values")

    def __init__(self, environ: Mapping[str, str], platform: str) -> None:
        self.prefix = env_prefix(platform)
        dnt, opt_out = environ.get(DO_NOT_TRACK), environ.get(self.opt_out_variable)
        self.do_not_track = do_not_track(dnt)
        self.opt_out = opts_out(opt_out)
        # The raw values, so that `telemetry status` can say which variable and value decided.
        self.values = {DO_NOT_TRACK: dnt, self.opt_out_variable: opt_out}
        self.debug = flag(environ.get(self.debug_variable))
        self.endpoint = environ.get(self.endpoint_variable) or None  # None: the CLI's default

    @property
    def opt_out_variable(self) -> str:
        """`{P}_TELEMETRY_OPT_OUT`: off for one execution."""
        return f"{self.prefix}_TELEMETRY_OPT_OUT"

    @property
    def debug_variable(self) -> str:
        """`{P}_TELEMETRY_DEBUG`: print the event instead of sending it."""
        return f"{self.prefix}_TELEMETRY_DEBUG"

    @property
    def endpoint_variable(self) -> str:
        """`{P}_TELEMETRY_ENDPOINT`: another collector, e.g. a self-hosted one."""
        return f"{self.prefix}_TELEMETRY_ENDPOINT"

    def decision(self) -> tuple[bool, str] | None:
        """(False, the variable's name) when the environment turns telemetry off, else None."""
        if self.do_not_track:
            return False, DO_NOT_TRACK
        if self.opt_out:
            return False, self.opt_out_variable
        return None


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
