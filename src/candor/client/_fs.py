"""Two file primitives the config and the spool share: an atomic write and an exclusive lock.

Both are POSIX-only (fcntl); on other systems `file_lock` degrades to no locking, which the
callers accept: telemetry then risks a duplicate ID or event, never a broken CLI.
"""

from __future__ import annotations

import os
import sys

if sys.platform != "win32":
    import fcntl

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
READ_CHUNK_BYTES = 64 * 1024  # one read holds any config or state file telemetry writes


def read_small(path: str, limit: int) -> bytes:
    """The bytes of `path`, at most `limit` + 1 of them (one more tells the caller it is larger).

    For the small files read on every run of the host CLI (config, spool state): an open, a
    read or two and a close, where `open()` adds a tty check, seeks, a buffer object and, for
    a bounded read, an allocation of the whole bound. Raises OSError (FileNotFoundError...).
    """
    fd = os.open(path, os.O_RDONLY)
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


def atomic_write(path: str, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never half.

    Temporary file in the same directory, fsync, rename, then fsync of the directory so the
    rename itself survives a power cut.
    """
    directory = os.path.dirname(path) or "."
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
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
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
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
