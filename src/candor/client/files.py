"""Telemetry's file writes and long reads: an atomic replace, and the tail of a log.

A recording run never needs these (it appends one line and reads two small files, with the
safe opens and the lock of `candor.client.recording`); the config's writes, the spool's
rewrites and the history of sent events do.
"""

from __future__ import annotations

import os

from candor.client.recording import PRIVATE_FILE_MODE, open_regular


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
