"""Candor's client: anonymous, opt-out-able usage telemetry for a Python CLI (stdlib only).

    from candor.client import Telemetry

    telemetry = Telemetry(platform="your-platform", cli_name="your-cli", cli_version="0.2.1",
                          endpoint="https://telemetry.your-platform.com/v1/event",
                          policy_url="https://your-platform.com/telemetry")
    with telemetry.session("db migrate"):
        ...

`Telemetry` is the one object a CLI creates: it records sessions and never breaks the CLI. It
lives in the package itself, not in a module of its own: every run of the host CLI imports the
package, and one module more costs each run ~0.3 M instructions (a tenth of a millisecond).
Its helpers have private names so that the package's public names stay `__all__`;
`candor.client.consent` gives the consent rules their public names.

Recording an event: consent from the environment, decided here before any import (a run
opted out loads nothing more of the client); then, in `candor.client.recording`, the one module
a recording run loads, the config's consent, the first-run notice, the event built and
checked, one append to the spool, and a detached sender started if none runs. The CLI never
waits for the network. Everything that can go wrong in there, a damaged
config, a read-only HOME, a full disk, a bug, ends in the one `except Exception` of this
package (`_guard`): the CLI's output, exit status and behaviour stay what they would have been.
`TelemetryStatus` (the answer of `telemetry.status()`) loads when it is first asked for.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from candor.client.config import ConfigFile
    from candor.client.status import TelemetryStatus

# = candor.schema's reserved codes: importing the schema costs a run that records nothing (opted
# out, --help) time for nothing; tests/client/test_package.py checks the copies.
_INTERNAL_ERROR = "internal_error"
_INTERRUPTED = "interrupted"
_USAGE_ERROR = "usage_error"
# candor.schema's error-code rule (ERROR_CODE_PATTERN), for `declare_error`, which runs at every
# start-up, telemetry on or off; tests/properties/test_fast_checks.py proves they agree.
_CODE_FIRST = "abcdefghijklmnopqrstuvwxyz"
_CODE_CHARS = _CODE_FIRST + "0123456789_"
_MAX_ERROR_CODE_LENGTH = 64
# The ID events carry while `candor.testing.capture_events` is active: no config is read then.
_CAPTURE_INSTALLATION_ID = "00000000-0000-4000-8000-000000000000"


# What the environment says about telemetry: the first two rules of candor.client.consent
# (whose docstring states them all), kept here because every run loads the package: a run the
# environment opts out loads no other module of the client. The integrations decide with
# `_Switches` too, before they load anything: the rule exists once.
_DO_NOT_TRACK = "DO_NOT_TRACK"  # https://consoledonottrack.com, shared by many tools
_FLAG_ON = ("1", "true", "yes")
_DNT_OFF = ("", "0", "false")
_OPT_OUT_UNSET = ("", "0", "false", "no")


def _env_prefix(platform: str) -> str:
    """The variables' prefix for a platform name: "your-platform" gives "YOUR_PLATFORM"."""
    return "".join(char if char.isalnum() else "_" for char in platform.upper())


def _flag(value: str | None) -> bool:
    """True for 1, true or yes in any case (the form of DEBUG, which turns something on)."""
    return value is not None and value.strip().lower() in _FLAG_ON


def _do_not_track(value: str | None) -> bool:
    """True when DO_NOT_TRACK asks not to track: any value but empty, 0 or false."""
    return value is not None and value.strip().lower() not in _DNT_OFF


def _opts_out(value: str | None) -> bool:
    """True when {P}_TELEMETRY_OPT_OUT asks for no telemetry: any value but empty, 0, false, no.

    Stricter readings ("1, true or yes only") silently ignored `on`, `y` or `2`: a variable
    that exists only to turn telemetry off errs on the side of off.
    """
    return value is not None and value.strip().lower() not in _OPT_OUT_UNSET


class _Switches:
    """What the environment says about telemetry, read once when `Telemetry` is created."""

    __slots__ = ("debug", "do_not_track", "endpoint", "opt_out", "prefix", "values")

    def __init__(self, environ: Mapping[str, str], platform: str) -> None:
        self.prefix = _env_prefix(platform)
        dnt, opt_out = environ.get(_DO_NOT_TRACK), environ.get(self.opt_out_variable)
        self.do_not_track = _do_not_track(dnt)
        self.opt_out = _opts_out(opt_out)
        # The raw values, so that `telemetry status` can say which variable and value decided.
        self.values = {_DO_NOT_TRACK: dnt, self.opt_out_variable: opt_out}
        self.debug = _flag(environ.get(self.debug_variable))
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
            return False, _DO_NOT_TRACK
        if self.opt_out:
            return False, self.opt_out_variable
        return None


class _Session:
    """One command's run: times it and records success or failure when the block ends.

    Usable as `with telemetry.session("build") as session:` or as a decorator. The command may
    be set late (`session.command = ...`, after parsing); a session whose command is still None
    at the end records nothing. Exceptions propagate unchanged.
    """

    __slots__ = ("_started", "_telemetry", "command", "error_code")

    def __init__(self, telemetry: Telemetry, command: str | None) -> None:
        self._telemetry = telemetry
        self.command = command
        self.error_code: str | None = None  # set by fail(); wins over what the exit says
        self._started = time.monotonic()

    def fail(self, error_code: str = _INTERNAL_ERROR) -> None:
        """Mark the command failed without an exception (e.g. it returns exit status 1)."""
        self.error_code = error_code

    def __enter__(self) -> _Session:
        self._started = time.monotonic()
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        elapsed_ms = (time.monotonic() - self._started) * 1000.0
        self._telemetry._guard(self._finish, exc, elapsed_ms)

    def _finish(self, exc: BaseException | None, elapsed_ms: float) -> None:
        if self.command is None:
            return
        code = self.error_code
        if code is None and exc is not None:
            if isinstance(exc, SystemExit):
                status = exc.code
                succeeded = status is None or (isinstance(status, int) and status == 0)
                code = None if succeeded else _INTERNAL_ERROR
            else:
                code = self._telemetry.error_code_for(exc)
        self._telemetry._record(self.command, elapsed_ms, code)

    def __call__(self, func: Callable[..., object]) -> Callable[..., object]:
        """`@telemetry.session("build")`: each call of `func` is one session."""
        telemetry, command = self._telemetry, self.command

        def wrapper(*args: object, **kwargs: object) -> object:
            with telemetry.session(command):
                return func(*args, **kwargs)

        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(wrapper, name, getattr(func, name, None))
        wrapper.__wrapped__ = func  # type: ignore[attr-defined]
        return wrapper


class Telemetry:
    """Anonymous usage telemetry for one CLI; create one per process (no global instance)."""

    __slots__ = (
        "_capture", "_codes", "_environ", "cli_name", "cli_version", "default_endpoint",
        "directory", "home_problem", "platform", "policy_url", "switches",
    )  # fmt: skip

    def __init__(
        self,
        platform: str,
        cli_name: str,
        cli_version: str,
        endpoint: str,
        policy_url: str,
        error_codes: Mapping[type[BaseException], str] | None = None,
        environ: Mapping[str, str] | None = None,
        home: str | None = None,
    ) -> None:
        if not platform or platform.startswith(".") or "/" in platform or "\\" in platform:
            raise ValueError(f"platform must be a plain name like 'your-platform': {platform!r}")
        self.platform = platform
        self.cli_name = cli_name
        self.cli_version = cli_version
        self.default_endpoint = endpoint
        self.policy_url = policy_url
        # The process's own environment is not copied: dict(os.environ) decodes every name
        # and value in Python, ~0.4 M instructions per run. The switches are read now; CI
        # detection and the sender's environment look it up when a recording run needs them.
        self._environ = os.environ if environ is None else dict(environ)
        self.switches = _Switches(self._environ, platform)
        self._codes: dict[type[BaseException], str] = {}
        for exc_type, code in (error_codes or {}).items():
            self.declare_error(exc_type, code)
        self._capture: list[dict[str, object]] | None = None
        home = _home(self._environ) if home is None else home
        # An empty or relative HOME would scatter files in the working directory (or in "/").
        self.home_problem = None if os.path.isabs(home) else f"no usable home directory ({home!r})"
        self.directory = os.path.join(home, f".{platform}")

    @property
    def endpoint(self) -> str:
        """Where events go: `{P}_TELEMETRY_ENDPOINT` if set, else the CLI's default."""
        return self.switches.endpoint or self.default_endpoint

    def declare_error(self, exc_type: type[BaseException], code: str) -> None:
        """Report exceptions of `exc_type` (and subclasses) as `code`, a snake_case name."""
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise TypeError(f"not an exception class: {exc_type!r}")
        if not _valid_error_code(code):
            raise ValueError(f"error code must be snake_case, at most 64 characters: {code!r}")
        self._codes[exc_type] = code

    def error_code_for(self, exc: BaseException) -> str:
        """The code of `exc`: declared (nearest class in its MRO), "interrupted", or internal."""
        for cls in type(exc).__mro__:
            code = self._codes.get(cls)
            if code is not None:
                return code
        return _INTERRUPTED if isinstance(exc, KeyboardInterrupt) else _INTERNAL_ERROR

    def session(self, command: str | None = None) -> _Session:
        """Time a command and record its outcome; see `_Session` (`telemetry.session()`)."""
        return _Session(self, command)

    def record(self, command: str, duration_ms: float, error_code: str | None = None) -> None:
        """Record one finished command (None error code: success). Never raises."""
        self._guard(self._record, command, duration_ms, error_code)

    def _guard(self, func: Callable[..., None], *args: object) -> None:
        try:
            func(*args)
        except Exception as error:  # the one catch-all: telemetry never breaks the CLI
            if self.switches.debug:
                self._say(f"{self.cli_name} telemetry debug: nothing recorded: {_why(error)}\n")

    def _say(self, text: str) -> None:
        # stderr only: the CLI's stdout may be piped JSON.
        stream = sys.stderr
        if stream is not None:
            stream.write(text)
            stream.flush()

    def _config(self) -> ConfigFile:
        from candor.client.config import ConfigFile

        return ConfigFile(self.directory)

    def _record(self, command: str, duration_ms: float, error_code: str | None) -> None:
        off = None if self._capture is not None else self.switches.decision()
        if off is not None:  # first, before any import: an opted-out run pays for nothing
            if self.switches.debug:
                self._say(f"{self.cli_name} telemetry debug: off by {off[1]}; nothing recorded\n")
            return  # not a file read, written or created; no socket, no process
        from candor.client.recording import record  # the whole recording path, one module

        record(self, command, duration_ms, error_code)

    def enable(self) -> None:
        """Turn telemetry on in the config. Raises TelemetryError when it cannot be saved."""
        self._config_for_change().set_enabled(True)

    def disable(self) -> None:
        """Turn telemetry off in the config and delete queued events; sends nothing about it.

        Raises TelemetryError when the choice cannot be saved (the spool is then kept too).
        """
        self._config_for_change().set_enabled(False)
        from candor.client.spool import Spool

        Spool(self.directory).purge()

    def _config_for_change(self) -> ConfigFile:
        from candor.client.errors import ConfigError

        problem = self.home_problem or self._missing_home()
        if problem:
            raise ConfigError(f"cannot save the choice: {problem}")
        return self._config()

    def status(self) -> TelemetryStatus:
        """What telemetry does now and why, read without creating or changing any file."""
        from candor.client.status import read_status  # `telemetry status` only

        return read_status(self)

    def _missing_home(self) -> str | None:
        """Why HOME cannot hold telemetry's files (it does not exist), or None.

        Checked by `status` only: recording finds out by failing to create the directory,
        which costs a run nothing more.
        """
        home = os.path.dirname(self.directory)
        if os.path.isdir(home):
            return None
        if os.path.exists(home):
            return f"the home directory {home} is not a directory"
        return f"the home directory {home} does not exist"

    def _set_capture(
        self, events: list[dict[str, object]] | None
    ) -> list[dict[str, object]] | None:
        """Send events to `events` instead of the spool (None: back to normal); for testing."""
        previous, self._capture = self._capture, events
        return previous


def _home(environ: Mapping[str, str]) -> str:
    """HOME from `environ`; the account's home directory only when HOME is absent."""
    if "HOME" in environ:
        return environ["HOME"]  # even when empty: then reported, never replaced by a guess
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):  # no pwd module (Windows), or an account without an entry
        return os.path.expanduser("~")


def _valid_error_code(code: object) -> bool:
    """True for a code the schema accepts: snake_case, a-z first, at most 64 characters."""
    return (
        isinstance(code, str)
        and 0 < len(code) <= _MAX_ERROR_CODE_LENGTH
        and code[0] in _CODE_FIRST
        and not code.strip(_CODE_CHARS)  # strip() leaves nothing when every character is allowed
    )


def _why(error: Exception) -> str:
    """A debug-mode sentence for an error: its message, and its type when it is unexpected."""
    from candor.client.errors import TelemetryError

    if isinstance(error, TelemetryError | OSError):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}"


del TYPE_CHECKING

__all__ = ["Telemetry", "TelemetryStatus"]


def __getattr__(name: str) -> object:
    if name == "TelemetryStatus":
        from candor.client.status import TelemetryStatus

        globals()[name] = TelemetryStatus  # from now on a plain attribute
        return TelemetryStatus
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
