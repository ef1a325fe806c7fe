"""What the config and the spool share: safe opens, an atomic write, a lock, and small JSON.

Every telemetry file is opened by `open_regular`: never through a symbolic link (an event
line appended to whatever a planted link points at), never blocking (a FIFO in place of a
file would hang every command), and only when it is a regular file.

The lock is POSIX-only (fcntl); on other systems `file_lock` degrades to no locking, which the
callers accept: telemetry then risks a duplicate ID or event, never a broken CLI.

`parse_json` and `compact_json` read and write the small JSON every recording run handles (the
config, the spool's state file, the event) without the `json` package, whose import cost each
run of the host CLI about a millisecond, as much as the rest of recording together. They are
strict and deliberately partial: whatever they do not handle themselves (a backslash escape, a
control character, NaN, a float to write, a malformed text) goes to `json` itself, so the
result, or the error, is always exactly what `json.loads` or `json.dumps` would give.
"""

from __future__ import annotations

import os
import stat  # imported by os itself: free
import sys

if sys.platform != "win32":
    import fcntl

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


class NotRegularFileError(OSError):
    """A telemetry file is a FIFO, a device, a directory or a socket: it is never used."""


def open_regular(
    path: str, flags: int, mode: int = PRIVATE_FILE_MODE, *, follow_links: bool = False
) -> int:
    """`os.open(path, flags, mode)` for telemetry's files: a descriptor of a regular file.

    A symbolic link as the last component fails (ELOOP) unless `follow_links`; the open never
    waits (O_NONBLOCK, which changes nothing for a regular file's reads and writes); anything
    but a regular file raises NotRegularFileError. Raises OSError like os.open.
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
        raise NotRegularFileError(f"{path} is not a regular file")
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


def read_tail(path: str, limit: int) -> tuple[bytes, int]:
    """The last whole lines of `path` within `limit` bytes, and how many bytes came before.

    Whatever the file's size, at most `limit` bytes are read: a log grown far past its bound
    (by damage, or by hand) costs no more than a full one. The line cut by the window's start
    is left out. Raises OSError; FileNotFoundError when there is no file.
    """
    fd = open_regular(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        data = os.pread(fd, size - start, start)
    finally:
        os.close(fd)
    if start:
        cut = data.find(b"\n") + 1  # 0 when no newline: nothing whole is left
        data = data[cut:] if cut else b""
        start = size - len(data)
    return data, start


def ensure_private_dir(path: str) -> None:
    """Create `path` (and parents) readable by the user alone; an existing one is left as is."""
    os.makedirs(path, mode=PRIVATE_DIR_MODE, exist_ok=True)


def atomic_write(path: str, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never half.

    Temporary file in the same directory, fsync, rename, then fsync of the directory so the
    rename itself survives a power cut.
    """
    directory = os.path.dirname(path) or "."
    tmp = f"{path}.{os.getpid()}.tmp"
    # Created afresh, never through a link: a planted `x.<pid>.tmp` link must not aim the write.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, mode)
    except FileExistsError:  # left by a killed process that had our pid
        os.unlink(tmp)
        fd = os.open(tmp, flags, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:  # noqa: SIM105 - contextlib would cost the host CLI an import
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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


class _NotPlain(Exception):
    """The text holds something `parse_json` leaves to the json package (or is malformed)."""


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
                raise _NotPlain
            text = data.decode("utf-8")
        else:
            text = data
        value, end = _value(text, _skip(text, 0))
        if _skip(text, end) != len(text):
            raise _NotPlain
        return value
    except (_NotPlain, IndexError, ValueError):
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
        raise _NotPlain
    return value, end + 1


def _object(text: str, index: int) -> tuple[dict[str, object], int]:
    result: dict[str, object] = {}
    index = _skip(text, index + 1)
    if text[index] == "}":
        return result, index + 1
    while True:
        if text[index] != '"':
            raise _NotPlain
        key, index = _string(text, index)
        index = _skip(text, index)
        if text[index] != ":":
            raise _NotPlain
        # A repeated key: the last value wins, at the first one's place, as with json.
        result[key], index = _value(text, _skip(text, index + 1))
        index = _skip(text, index)
        if text[index] == "}":
            return result, index + 1
        if text[index] != ",":
            raise _NotPlain
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
            raise _NotPlain
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
        raise _NotPlain
    if dot or e:
        return float(token), end
    if len(digits) > _MAX_INT_DIGITS:
        raise _NotPlain
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
