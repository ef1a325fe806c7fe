"""Everything a CLI run that records an event executes, in one module.

Once the environment has consented (the package decides that before any import), recording
is: read the config without a lock, build the event and check it against the schema, append
one line to the spool, and start a sender if one is needed. Each module a run loads costs the
host CLI ~0.3 M instructions (finding, reading and unmarshalling it), about a tenth of a
millisecond, so this path is one module instead of the six it used to span. The other half of
each job stays in the module named after it, which a recording run does not load: config.py
(writes under the lock), spool.py and spool_rewrite.py (the log read back and rewritten),
files.py (atomic writes, tail reads), launcher.py, sender.py.

In order:

- the small JSON the client handles (`parse_json`, `compact_json`): the config, the spool's
  state file and the event, read and written by hand, because importing `json` cost each run
  about a millisecond. Strict and deliberately partial: whatever they do not handle (an
  escape, a control character, NaN, a float to write, malformed text) goes to `json` itself,
  so the result, or the error, is always exactly json's;
- safe opens (`open_regular`: never through a symbolic link, never blocking on a FIFO, regular
  files only), `read_small`, and the advisory lock (`file_lock`, fcntl; no locking where there
  is no fcntl, which risks a duplicate, never a broken CLI);
- the event: `os_arch` and `is_interactive` (without the `platform` module, which imports
  subprocess), `build_event`, checked against candor.schema's rules, which cog copies below
  (importing the schema cost a run more than checking);
- the config's read (`read_config`, `config_settings`);
- the spool's append and the checks before starting a sender (format: see spool.py);
- the endpoint rule (`endpoint_problem`), and `record`, the whole recording path.
"""

from __future__ import annotations

import os
import stat  # imported by os itself: free
import sys
import time

if sys.platform != "win32":
    import fcntl

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from candor.client import Telemetry
    from candor.client.errors import ConfigError, CorruptConfigError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
READ_CHUNK_BYTES = 64 * 1024  # one read holds any config or state file telemetry writes
_JSON_SPACE = " \t\n\r"  # JSON's whitespace; str.isspace() would accept more
_JSON_DIGITS = "0123456789"
_JSON_NUMBER_CHARS = "0123456789+-.eE"
_JSON_LITERALS = {"true": True, "false": False, "null": None}
_JSON_WORDS = {True: "true", False: "false", None: "null"}
# An integer this long may meet int()'s digit limit; json.loads then reports it its own way.
_MAX_INT_DIGITS = 20
# O_NOFOLLOW and O_NONBLOCK are POSIX; elsewhere the fstat check below still refuses a
# non-regular file, after an open that may then block.
_SAFE_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

# The config (`~/.{platform}/config.json`; see config.py for its writes).
CONFIG_FILE = "config.json"
# Read on every run of the host CLI: a file this large is not a config, and reading it would
# cost the user time on each command. It is reported as unreadable, never truncated.
MAX_CONFIG_BYTES = 1024 * 1024
ID_KEY = "installation_id"
SECTION_KEY = "telemetry"

# The spool's files and bounds (see spool.py for the format and the rewrites).
SPOOL_FILE = "telemetry-spool.log"
SPOOL_LOCK_FILE = "telemetry-spool.lock"
STATE_FILE = "telemetry-state.json"
SENDER_LOCK_FILE = "telemetry-sender.lock"  # held by the one running sender (see launcher.py)
SENT_FILE = "telemetry-sent.jsonl"  # what was sent, for `telemetry show` (see history.py)
# The bound: a spool that waits through a long outage must not grow without limit.
MAX_SPOOL_EVENTS = 1000
MAX_SPOOL_BYTES = 1024 * 1024
# No record is shorter (the nine key names alone take 94 characters): below
# MAX_SPOOL_EVENTS * MIN_RECORD_BYTES bytes the log cannot hold too many records, so the CLI
# need not count them.
MIN_RECORD_BYTES = 200
RECORD_ID_BYTES = 8
# The state file holds counters, times and the in-flight batch's record ids (17 bytes each, at
# most MAX_BATCH_EVENTS of them): a few KiB. Anything far larger is damage, read as defaults.
MAX_STATE_BYTES = 256 * 1024
# A persisted retry time further ahead than this comes from a clock set backwards (or a
# damaged file): ignore it rather than stop delivery for days. The longest legitimate wait is
# a collector's Retry-After, which the sender caps at a day.
MAX_PLAUSIBLE_WAIT_S = 24 * 3600 + 60

# The endpoint rule: plain http:// only to these hosts (and 127.0.0.0/8).
LOOPBACK_HOSTS = ("localhost", "::1")

# candor.schema's rules, copied by cog (scripts/schema_copy.py; `make lint` checks the copy).
# fmt: off
# [[[cog import schema_copy; cog.outl(schema_copy.rules()) ]]]
EVENT_VERSION = "1.0"
MAX_DURATION_MS = 2147483647
OS_NAMES = (
    "linux", "macos", "windows", "freebsd", "netbsd", "openbsd", "dragonfly", "solaris",
    "illumos", "android", "ios", "aix", "unknown",
)
ARCH_NAMES = (
    "x86_64", "aarch64", "x86", "arm", "riscv64", "powerpc", "powerpc64", "s390x", "mips",
    "mips64", "loongarch64", "sparc64", "unknown",
)
CI_VARIABLES = (
    "CI", "CONTINUOUS_INTEGRATION", "BUILD_NUMBER", "RUN_ID", "GITHUB_ACTIONS", "GITLAB_CI",
    "BUILDKITE", "TF_BUILD", "JENKINS_URL", "CIRCLECI", "TRAVIS", "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ID", "DRONE", "APPVEYOR", "SEMAPHORE",
    "BUDDY", "HEROKU_TEST_RUN_ID",
)
FIELD_NAMES = (
    "event_version", "installation_id", "cli_version", "command", "os_arch", "duration_ms",
    "status", "error_code", "is_interactive",
)
_HEX = "0123456789abcdef"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_VERSION_REST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+_-"
_COMMAND_REST = "abcdefghijklmnopqrstuvwxyz0123456789_-"
_ERROR_CODE_REST = "abcdefghijklmnopqrstuvwxyz0123456789_"
_OS_SET = frozenset((
    "aix", "android", "dragonfly", "freebsd", "illumos", "ios", "linux", "macos", "netbsd",
    "openbsd", "solaris", "unknown", "windows",
))
_ARCH_SET = frozenset((
    "aarch64", "arm", "loongarch64", "mips", "mips64", "powerpc", "powerpc64", "riscv64",
    "s390x", "sparc64", "unknown", "x86", "x86_64",
))


def _only(value: str, allowed: str) -> bool:
    # strip() removes every leading and trailing character found in `allowed`: nothing is
    # left exactly when every character of `value` is one of them.
    return not value.strip(allowed)


def _is_uuid4(value: str) -> bool:
    return (
        len(value) == 36
        and value[8] == value[13] == value[18] == value[23] == "-"
        and value[14] == "4"
        and value[19] in "89ab"
        and _only(value[:8] + value[9:13] + value[14:18] + value[19:23] + value[24:], _HEX)
    )


def _is_version(value: str) -> bool:
    return 0 < len(value) <= 32 and value[0] in _ALNUM and _only(value, _VERSION_REST)


def _is_command(value: str) -> bool:
    # split(" ") keeps the empty words that a leading, trailing or doubled space makes.
    for word in value.split(" "):
        if not word or word[0] not in _LOWER or not _only(word, _COMMAND_REST):
            return False
    return True


def _is_os_arch(value: str) -> bool:
    # Every "-" is tried as the separator, as the regular expression's alternation would.
    dash = value.find("-")
    while dash >= 0:
        if value[:dash] in _OS_SET and value[dash + 1 :] in _ARCH_SET:
            return True
        dash = value.find("-", dash + 1)
    return False


def _is_error_code(value: str) -> bool:
    return 0 < len(value) <= 64 and value[0] in _LOWER and _only(value, _ERROR_CODE_REST)


# (name, JSON type, nullable, max length, enum, check, minimum, maximum) per field
FIELD_RULES = (
    ("event_version", "string", False, None, ("1.0",), None, None, None),
    ("installation_id", "string", False, 36, None, _is_uuid4, None, None),
    ("cli_version", "string", False, 32, None, _is_version, None, None),
    ("command", "string", False, 64, None, _is_command, None, None),
    ("os_arch", "string", False, 32, None, _is_os_arch, None, None),
    ("duration_ms", "integer", False, None, None, None, 0, 2147483647),
    ("status", "string", False, None, ("success", "failure"), None, None, None),
    ("error_code", "string", True, 64, None, _is_error_code, None, None),
    ("is_interactive", "boolean", False, None, None, None, None, None),
)
# [[[end]]]
# fmt: on


# ---------------------------------------------------------------- small JSON


def parse_json(data: str | bytes) -> object:
    """`json.loads(data)`, without importing json for the plain texts telemetry writes.

    Handles objects, arrays, strings without escapes or control characters, numbers, true,
    false and null, in UTF-8; anything else, malformed text included, is handed to
    `json.loads`, so the value or the ValueError is always json's.
    """
    try:
        if isinstance(data, bytes):
            # json.loads guesses UTF-16/32 from NUL bytes and skips a BOM: left to it.
            if b"\x00" in data or data.startswith(b"\xef\xbb\xbf"):
                raise ValueError  # left to json
            text = data.decode("utf-8")
        else:
            text = data
        value, end = _value(text, _skip(text, 0))
        if _skip(text, end) != len(text):
            raise ValueError  # left to json
        return value
    except (IndexError, ValueError):
        import json  # rare: escapes, NaN, damage; json decides

        return json.loads(data)


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _JSON_SPACE:
        index += 1
    return index


def _value(text: str, index: int) -> tuple[object, int]:
    char = text[index]
    if char == '"':
        return _string(text, index)
    if char == "{":
        return _object(text, index)
    if char == "[":
        return _array(text, index)
    for word, literal in _JSON_LITERALS.items():
        if text.startswith(word, index):
            return literal, index + len(word)
    return _number(text, index)


def _string(text: str, index: int) -> tuple[str, int]:
    end = text.index('"', index + 1)
    value = text[index + 1 : end]
    # A backslash may escape a quote (then `end` is wrong) or anything else: json's job.
    # isprintable() is False for every control character JSON forbids inside a string.
    if "\\" in value or not value.isprintable():
        raise ValueError  # left to json
    return value, end + 1


def _object(text: str, index: int) -> tuple[dict[str, object], int]:
    result: dict[str, object] = {}
    index = _skip(text, index + 1)
    if text[index] == "}":
        return result, index + 1
    while True:
        if text[index] != '"':
            raise ValueError  # left to json
        key, index = _string(text, index)
        index = _skip(text, index)
        if text[index] != ":":
            raise ValueError  # left to json
        # A repeated key: the last value wins, at the first one's place, as with json.
        result[key], index = _value(text, _skip(text, index + 1))
        index = _skip(text, index)
        if text[index] == "}":
            return result, index + 1
        if text[index] != ",":
            raise ValueError  # left to json
        index = _skip(text, index + 1)


def _array(text: str, index: int) -> tuple[list[object], int]:
    result: list[object] = []
    index = _skip(text, index + 1)
    if text[index] == "]":
        return result, index + 1
    while True:
        item, index = _value(text, index)
        result.append(item)
        index = _skip(text, index)
        if text[index] == "]":
            return result, index + 1
        if text[index] != ",":
            raise ValueError  # left to json
        index = _skip(text, index + 1)


def _number(text: str, index: int) -> tuple[int | float, int]:
    end = index
    while end < len(text) and text[end] in _JSON_NUMBER_CHARS:
        end += 1
    token = text[index:end]
    # JSON's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, checked first: int() and
    # float() accept more ("+1", "01", "1_0", "1.", "inf").
    mantissa, e, exponent = token.lower().partition("e")
    whole, dot, fraction = mantissa.partition(".")
    digits = whole[1:] if whole[:1] == "-" else whole
    if exponent[:1] in ("+", "-"):
        exponent = exponent[1:]
    if (
        not _digits(digits)
        or (len(digits) > 1 and digits[0] == "0")
        or (dot and not _digits(fraction))
        or (e and not _digits(exponent))
    ):
        raise ValueError  # left to json
    if dot or e:
        return float(token), end
    if len(digits) > _MAX_INT_DIGITS:
        raise ValueError  # left to json
    return int(token), end


def _digits(value: str) -> bool:
    return bool(value) and not value.strip(_JSON_DIGITS)


def compact_json(value: dict[str, object]) -> str:
    """`json.dumps(value, separators=(",", ":"))` of a flat object, without importing json.

    Written by hand when every key and string is printable ASCII without a quote or a
    backslash (what the schema lets into an event) and every other value an int, a bool or
    None; anything else is left to json, so the text is always json's.
    """
    parts = []
    for key, item in value.items():
        if not _plain_string(key):
            break
        if type(item) is str and _plain_string(item):
            parts.append(f'"{key}":"{item}"')
        elif item is None or type(item) is bool:
            parts.append(f'"{key}":{_JSON_WORDS[item]}')
        elif type(item) is int:
            parts.append(f'"{key}":{item}')
        else:
            break
    else:
        return "{" + ",".join(parts) + "}"
    import json  # a float, an escape, a nested value: json writes it

    return json.dumps(value, separators=(",", ":"))


def _plain_string(text: object) -> bool:
    return (
        type(text) is str
        and text.isascii()
        and text.isprintable()
        and not ('"' in text or "\\" in text)
    )


# ---------------------------------------------------------------- safe files


def open_regular(
    path: str, flags: int, mode: int = PRIVATE_FILE_MODE, *, follow_links: bool = False
) -> int:
    """`os.open(path, flags, mode)` for telemetry's files: a descriptor of a regular file.

    A symbolic link as the last component fails (ELOOP) unless `follow_links`; the open never
    waits (O_NONBLOCK, which changes nothing for a regular file's reads and writes); anything
    but a regular file raises OSError ("... is not a regular file"), as os.open raises its own.
    """
    flags |= _SAFE_OPEN_FLAGS
    if follow_links:
        flags &= ~getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, mode)
    try:
        kind = os.fstat(fd).st_mode
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(kind):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")  # never used: a FIFO, device, socket
    return fd


def read_small(path: str, limit: int, *, follow_links: bool = False) -> bytes:
    """The bytes of `path`, at most `limit` + 1 of them (one more tells the caller it is larger).

    For the small files read on every run of the host CLI (config, spool state): an open, a
    read or two and a close, where `open()` adds a tty check, seeks, a buffer object and, for
    a bounded read, an allocation of the whole bound. Raises OSError (FileNotFoundError...).
    """
    fd = open_regular(path, os.O_RDONLY, follow_links=follow_links)
    try:
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, READ_CHUNK_BYTES))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def ensure_private_dir(path: str) -> None:
    """Create `path` (and parents) readable by the user alone; an existing one is left as is."""
    os.makedirs(path, mode=PRIVATE_DIR_MODE, exist_ok=True)


class file_lock:  # lower case: it reads like a function, `with file_lock(path):`
    """An exclusive advisory lock on `path` (created 0600 if missing), held inside the block.

    With `blocking=False`, `acquired` tells whether the lock was taken; the block runs either way.
    """

    __slots__ = ("_fd", "acquired", "blocking", "path")

    def __init__(self, path: str, *, blocking: bool = True) -> None:
        self.path = path
        self.blocking = blocking
        self.acquired = False
        self._fd = -1

    def __enter__(self) -> file_lock:
        self._fd = open_regular(self.path, os.O_RDWR | os.O_CREAT)
        if sys.platform == "win32":  # pragma: no cover - no flock there
            self.acquired = True
            return self
        flags = fcntl.LOCK_EX if self.blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(self._fd, flags)
            self.acquired = True
        except BlockingIOError:
            self.acquired = False
        except BaseException:
            os.close(self._fd)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Closing the descriptor releases the lock (unless a child inherited it on purpose).
        os.close(self._fd)
        self._fd = -1

    def fileno(self) -> int:
        """The locked descriptor, e.g. to hand the lock to a child process."""
        return self._fd


# ---------------------------------------------------------------- the event


# sys.platform prefix → Rust's std::env::consts::OS (first match wins).
_OS_PREFIXES = (
    ("linux", "linux"), ("darwin", "macos"), ("win32", "windows"), ("cygwin", "windows"),
    ("freebsd", "freebsd"), ("netbsd", "netbsd"), ("openbsd", "openbsd"),
    ("dragonfly", "dragonfly"), ("sunos", "solaris"), ("illumos", "illumos"),
    ("android", "android"), ("ios", "ios"), ("aix", "aix"),
)  # fmt: skip

# uname machine (lower case) → Rust's std::env::consts::ARCH.
_ARCH_ALIASES = {
    "x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64", "aarch64_be": "aarch64",
    "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86", "x86": "x86", "i86pc": "x86",
    "riscv64": "riscv64", "ppc": "powerpc", "powerpc": "powerpc", "ppc64": "powerpc64",
    "ppc64le": "powerpc64", "powerpc64": "powerpc64", "powerpc64le": "powerpc64",
    "s390x": "s390x", "mips": "mips", "mipsel": "mips", "mips64": "mips64",
    "mips64el": "mips64", "loongarch64": "loongarch64", "sparc64": "sparc64",
}  # fmt: skip


def os_name(platform: str | None = None) -> str:
    """Rust's OS name for `platform` (default `sys.platform`); "unknown" when unmapped."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux") and hasattr(sys, "getandroidapilevel"):
        return "android"  # CPython on Android reports sys.platform "linux" before 3.13
    for prefix, name in _OS_PREFIXES:
        if platform.startswith(prefix):
            return name
    return "unknown"


def arch_name(machine: str) -> str:
    """Rust's architecture name for a `uname -m` value; "unknown" when unmapped."""
    machine = machine.strip().lower()
    name = _ARCH_ALIASES.get(machine)
    if name is None and machine.startswith("arm"):
        name = "arm"  # armv6l, armv7l, armv8l (a 32-bit userland on a 64-bit CPU)
    return name if name in ARCH_NAMES else "unknown"


def _machine() -> str:
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().machine)
    # Windows has no uname; the variable names the process's own architecture (WOW64 aside).
    return os.environ.get("PROCESSOR_ARCHITEW6432") or os.environ.get("PROCESSOR_ARCHITECTURE", "")


def os_arch(platform: str | None = None, machine: str | None = None) -> str:
    """The event's `os_arch`, e.g. "linux-x86_64" or "macos-aarch64", from this machine."""
    name = os_name(platform)
    arch = arch_name(_machine() if machine is None else machine)
    return f"{name if name in OS_NAMES else 'unknown'}-{arch}"


def in_ci(environ: Mapping[str, str]) -> bool:
    """True when any variable of CI_VARIABLES (the schema's) is set to a non-empty value."""
    return any(environ.get(name) for name in CI_VARIABLES)


def _isatty(stream: object) -> bool:
    # A host may replace or close its streams (pythonw has None, tests pass StringIO).
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def is_interactive(environ: Mapping[str, str], stdin: object, stdout: object) -> bool:
    """The event's `is_interactive`: stdin and stdout are both terminals and no CI is detected."""
    return _isatty(stdin) and _isatty(stdout) and not in_ci(environ)


def normalize_command(parts: str | Sequence[str]) -> str:
    """The event's `command` for a command path: lower-case words joined by one space.

    `["db", "Migrate"]`, `"db  migrate"` and `("db migrate",)` all give "db migrate". Only
    pass names from the CLI's own command tree, never what the user typed after them.
    """
    if isinstance(parts, str):
        parts = (parts,)
    return " ".join(word.lower() for part in parts for word in part.split())


def clamp_duration(duration_ms: float) -> int:
    """A whole, non-negative number of milliseconds within the schema's maximum."""
    return min(max(int(duration_ms), 0), MAX_DURATION_MS)


def build_event(
    *,
    installation_id: str,
    cli_version: str,
    command: str,
    os_arch: str,
    duration_ms: float,
    error_code: str | None,
    is_interactive: bool,
) -> dict[str, object]:
    """The event with exactly the schema's nine keys; a failure is any non-None error code.

    Raises InvalidEventError (with every problem, as candor.schema words them) when the result
    breaks the schema.
    """
    event: dict[str, object] = {
        "event_version": EVENT_VERSION,
        "installation_id": installation_id,
        "cli_version": cli_version,
        "command": command,
        "os_arch": os_arch,
        "duration_ms": clamp_duration(duration_ms),
        "status": "success" if error_code is None else "failure",
        "error_code": error_code,
        "is_interactive": is_interactive,
    }
    # The copy's check first; when it objects, the schema itself decides and says why.
    if not event_is_valid(event):
        from candor.schema import validate_event

        problems = validate_event(event)
        if problems:
            from candor.client.errors import InvalidEventError

            raise InvalidEventError(problems)
    return event


def value_is_valid(rule: tuple[object, ...], value: object) -> bool:
    """Whether `value` satisfies one row of FIELD_RULES (candor.schema.field_problem's rule)."""
    _, json_type, nullable, max_length, enum, check, minimum, maximum = rule
    if value is None:
        return bool(nullable)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "integer":
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (minimum is None or value >= minimum)  # type: ignore[operator]
            and (maximum is None or value <= maximum)  # type: ignore[operator]
        )
    return (
        isinstance(value, str)
        and (max_length is None or len(value) <= max_length)  # type: ignore[operator]
        and (enum is None or value in enum)  # type: ignore[operator]
        and (check is None or bool(check(value)))  # type: ignore[operator]
    )


def event_is_valid(event: dict[str, object]) -> bool:
    """True when candor.schema.validate_event(event) finds no problem (tests prove they agree)."""
    if len(event) != len(FIELD_RULES):
        return False  # a key missing, or one the schema does not know
    for rule in FIELD_RULES:
        name = rule[0]
        if name not in event or not value_is_valid(rule, event[name]):
            return False
    # The rule spanning two fields: an error code exactly when the command failed.
    return (event["status"] == "success") == (event["error_code"] is None)


# ---------------------------------------------------------------- the config's read


# The errors module is loaded only when one is raised: a run reading a healthy config (every
# run with telemetry on) does not pay for its import.
def unusable(message: str) -> ConfigError:
    """A ConfigError: the config cannot be read or written at all."""
    from candor.client.errors import ConfigError

    return ConfigError(message)


def corrupt(path: str, reason: str) -> CorruptConfigError:
    """A CorruptConfigError: the config exists, but telemetry's part of it is damaged."""
    from candor.client.errors import CorruptConfigError

    return CorruptConfigError(path, reason)


def read_config(path: str) -> dict[str, object]:
    """The whole config object at `path`; {} when there is no file yet.

    Raises CorruptConfigError when the file is not a JSON object, ConfigError when it cannot
    be read at all.
    """
    try:
        # The one telemetry file read through a symbolic link: config.json is the platform's,
        # and dotfile managers link it. Reading it is all that follows the link (a write
        # replaces the link itself), and a FIFO or device is still refused.
        raw = read_small(path, MAX_CONFIG_BYTES, follow_links=True)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise unusable(f"cannot read {path}: {error.strerror or error}") from error
    if len(raw) > MAX_CONFIG_BYTES:
        raise corrupt(path, f"larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = parse_json(raw.decode("utf-8"))  # json's result, without its import
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError alike
        raise corrupt(path, f"not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise corrupt(path, "not a JSON object")
    return data


def config_section(data: dict[str, object], path: str) -> dict[str, object]:
    """The config's "telemetry" object ({} when absent); CorruptConfigError when not an object."""
    section = data.get(SECTION_KEY, {})
    if not isinstance(section, dict):
        raise corrupt(path, f'"{SECTION_KEY}" is not a JSON object')
    return section


def valid_installation_id(value: object) -> bool:
    """True for a canonical lower-case version 4 UUID string, as the schema requires."""
    return isinstance(value, str) and value_is_valid(FIELD_RULES[1], value)


def config_settings(data: dict[str, object], path: str) -> tuple[bool | None, bool, str | None]:
    """(enabled, notice shown, installation ID) of a config object: see config.parse_settings."""
    section = config_section(data, path)
    enabled = section.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise corrupt(path, f'"{SECTION_KEY}.enabled" must be true or false')
    notice_shown = section.get("notice_shown", False)
    if not isinstance(notice_shown, bool):
        raise corrupt(path, f'"{SECTION_KEY}.notice_shown" must be true or false')
    ident = data.get(ID_KEY)
    if not isinstance(ident, str) or not valid_installation_id(ident):
        ident = None  # only random data telemetry made: replaced, never a reason to stop
    return enabled, notice_shown, ident


# ---------------------------------------------------------------- the spool's append


_CHECKSUM_PRIME = 4294967291  # the largest prime below 2**32


def checksum(data: bytes) -> int:
    """The 32-bit checksum of a spool line: its bytes as one number, modulo a prime.

    It finds torn and garbled lines: a cut changes the number, and a changed byte changes it
    by d * 256**k (0 < |d| < 256), never a multiple of the prime. One big-integer operation in
    C: FNV-1a's loop over an event's 250 bytes in Python (`fnv1a`, the checksum of lines
    written before, still accepted) cost each recording run ~0.27 M instructions, and loading
    zlib or binascii for a CRC more. Integrity only: nothing here defends against a forger.
    """
    return int.from_bytes(data, "big") % _CHECKSUM_PRIME


def fnv1a(data: bytes) -> int:
    """32-bit FNV-1a of `data`: the checksum of spool lines written by earlier releases."""
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def encode_record(event: dict[str, object], recorded_at: float | None = None) -> bytes:
    """Serialise `event` as one checksummed spool line with a fresh random id and the time."""
    now = int(time.time() if recorded_at is None else recorded_at)
    # compact_json: json.dumps's exact text, ASCII only (non-ASCII is escaped).
    body = f"{os.urandom(RECORD_ID_BYTES).hex()} {now} {compact_json(event)}".encode("ascii")
    return b"%08x %s\n" % (checksum(body), body)


def append_record(directory: str, line: bytes) -> None:
    """Queue one encoded record (`encode_record`): a single append, or a trim when full.

    Creates the directory if needed. Raises OSError (full disk, read-only HOME); the caller,
    `Telemetry`, swallows it.
    """
    lock = file_lock(os.path.join(directory, SPOOL_LOCK_FILE))
    try:
        lock.__enter__()
    except FileNotFoundError:  # first event of this HOME: the directory is made lazily
        ensure_private_dir(directory)
        lock.__enter__()
    try:
        # Opened under the lock: a sender's rewrite replaces the file, and an append to a
        # descriptor opened before that rename would land in the discarded copy.
        fd = open_regular(os.path.join(directory, SPOOL_FILE), os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            size = os.fstat(fd).st_size
            if _must_trim(fd, size, len(line)):
                from candor.client.spool import Spool
                from candor.client.spool_rewrite import trim_with  # a full spool only

                trim_with(Spool(directory), line)
                return
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a torn last line must not swallow this record
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    finally:
        lock.__exit__()


def _must_trim(fd: int, size: int, extra: int) -> bool:
    if size + extra > MAX_SPOOL_BYTES:
        return True
    if size < MAX_SPOOL_EVENTS * MIN_RECORD_BYTES:
        return False
    return os.pread(fd, size, 0).count(b"\n") >= MAX_SPOOL_EVENTS


def default_state() -> dict[str, object]:
    """The state of a spool that never sent, dropped or failed anything."""
    return {
        "dropped": 0,  # events lost locally: spool full, damaged line, unsendable event
        "rejected": 0,  # events the collector refused for good (a 4xx, or rejected in a 202)
        "failures": 0,  # consecutive failed attempts, the exponent of the backoff
        "next_attempt_at": None,  # epoch seconds before which no sender may post
        "last_success_at": None,  # epoch seconds of the last acknowledged batch
        # Why the latest attempt failed ("connection refused", "HTTP 503") and when (epoch
        # seconds); both cleared by the next acknowledged batch. Shown by `telemetry status`.
        "last_failure": None,
        "last_failure_at": None,
        # {"key": Idempotency-Key, "ids": "id,id,..."} of the batch posted last; one string,
        # not a list, because every CLI run that finds the spool non-empty parses this file.
        "inflight": None,
    }


def read_state(path: str) -> dict[str, object]:
    """The state file's content over the defaults; a missing or damaged file gives defaults."""
    state = default_state()
    try:
        loaded = parse_json(read_small(path, MAX_STATE_BYTES))
    except (OSError, ValueError):  # a larger file is cut short, so it is not JSON either
        return state
    if isinstance(loaded, dict):
        for key, default in state.items():
            value = loaded.get(key, default)
            # Keep only values of the expected kind, so a hand-edited file cannot crash a run.
            if default is None or isinstance(value, type(default)):
                state[key] = value
    return state


def as_int(value: object) -> int:
    """A counter from the state file, 0 when it is not a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_time(value: object) -> float | None:
    """An epoch timestamp from the state file, None when it is not a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def backoff_pending(state: dict[str, object], now: float) -> bool:
    """True while the state's persisted backoff forbids a new delivery attempt."""
    retry = as_time(state["next_attempt_at"])
    return retry is not None and now < retry <= now + MAX_PLAUSIBLE_WAIT_S


def delivery_due(directory: str, now: float) -> bool:
    """Events wait and no persisted backoff forbids an attempt: one stat, a small read."""
    try:
        if os.stat(os.path.join(directory, SPOOL_FILE)).st_size == 0:
            return False
    except FileNotFoundError:
        return False
    return not backoff_pending(read_state(os.path.join(directory, STATE_FILE)), now)


def sender_wanted(directory: str) -> bool:
    """`delivery_due` and no sender runs (its lock is free): when a CLI should start one.

    The CLI asks this before it loads the launcher, which checks again under the lock.
    """
    # The lock first: while a sender runs (the common case of a busy CLI) it is all a run
    # checks, and the state file is not even read.
    with file_lock(os.path.join(directory, SENDER_LOCK_FILE), blocking=False) as lock:
        if not lock.acquired:
            return False
    return delivery_due(directory, time.time())


# ---------------------------------------------------------------- where events may go


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


# ---------------------------------------------------------------- recording


def record(telemetry: Telemetry, command: str, duration_ms: float, error_code: str | None) -> None:
    """Record one finished command for `telemetry`, whose environment has consented.

    The config next (an unreadable one counts as "off"), the first-run notice, the event,
    one append to the spool, a sender started if none runs. Raises on any failure; the
    caller, `Telemetry._guard`, swallows it.
    """
    environ = telemetry._environ

    def event(installation_id: str) -> dict[str, object]:
        return build_event(
            installation_id=installation_id,
            cli_version=telemetry.cli_version,
            command=normalize_command(command),
            os_arch=os_arch(),
            duration_ms=duration_ms,
            error_code=error_code,
            is_interactive=is_interactive(environ, sys.stdin, sys.stdout),
        )

    if telemetry._capture is not None:  # candor.testing: no consent, no file, no network
        from candor.client import _CAPTURE_INSTALLATION_ID  # loaded: a dict lookup

        telemetry._capture.append(event(_CAPTURE_INSTALLATION_ID))
        return
    if telemetry.home_problem:
        return
    directory, debug = telemetry.directory, telemetry.switches.debug
    path = os.path.join(directory, CONFIG_FILE)
    # Raises when unreadable: telemetry is then off.
    enabled, notice_shown, ident = config_settings(read_config(path), path)
    if enabled is False:  # consent.config_decision's "off"
        if debug:
            telemetry._say(f"{telemetry.cli_name} telemetry debug: disabled in the config\n")
        return
    if debug:  # a dry run: no notice, no config write, no spool, no sender
        _debug_print(telemetry, event, ident)
        return
    if ident is None or not notice_shown:
        from candor.client.config import ConfigFile

        ident, show_notice = ConfigFile(directory).claim_first_run()
        if show_notice:
            from candor.client.notice import notice_text

            telemetry._say(
                notice_text(telemetry.cli_name, telemetry.switches.prefix, telemetry.policy_url)
            )
            return  # the run that shows the notice sends nothing
        if ident is None:
            return  # disabled by another process meanwhile
    endpoint = telemetry.endpoint
    if endpoint_problem(endpoint):
        return  # `telemetry status` says why; sending there is refused
    append_record(directory, encode_record(event(ident)))
    # The launcher module loads only when a sender is likely to start (not during a backoff,
    # nor while one runs); once loaded it is called on every record, since it reaps the
    # senders this process started.
    if "candor.client.launcher" in sys.modules or sender_wanted(directory):
        from candor.client.launcher import start_sender_if_needed

        start_sender_if_needed(directory, endpoint, environ)


def _debug_print(
    telemetry: Telemetry, event: Callable[[str], dict[str, object]], installation_id: str | None
) -> None:
    import json

    from candor.client.config import new_installation_id

    prefix = f"{telemetry.cli_name} telemetry debug"
    if installation_id is None:
        telemetry._say(f"{prefix}: no installation ID saved yet; a random one stands in\n")
    endpoint = telemetry.endpoint
    problem = endpoint_problem(endpoint)
    where = f"refused endpoint {endpoint} ({problem})" if problem else endpoint
    payload = json.dumps(event(installation_id or new_installation_id()), separators=(",", ":"))
    telemetry._say(f"{prefix}: would send to {where}; nothing sent or saved:\n{payload}\n")
