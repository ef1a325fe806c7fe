"""Logging for the collector: one stderr handler, no access log, no address in any line.

uvicorn logs a peer address in its access log (turned off) and at its TRACE level (not
offered by --log-level). As a second guard, every record that reaches the handler is
rendered, traceback included, and anything shaped like an IPv4 or IPv6 address is replaced,
so a future library message or exception text cannot write a client address either.
"""

from __future__ import annotations

import logging
import re
import sys

LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "candor")
REDACTED = "[address]"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"
_HEX = r"[0-9A-Fa-f]{1,4}"
# Four or more groups, or a "::" compression; a clock time (12:34:56) is neither.
_IPV6 = (
    rf"(?<![\w:])(?:(?:{_HEX}:){{3,7}}{_HEX}"
    rf"|(?:{_HEX}(?::{_HEX})*)?::(?:{_HEX}(?::{_HEX})*)?)(?![\w:])"
)
# IPv4 first: in "::ffff:10.0.0.1" the IPv6 pattern alone would leave ".0.0.1" behind.
ADDRESSES = (re.compile(_IPV4), re.compile(_IPV6))


def redact(text: str) -> str:
    """`text` with every IPv4/IPv6-shaped substring replaced by [address]."""
    for pattern in ADDRESSES:
        text = pattern.sub(REDACTED, text)
    return text


class RedactAddresses(logging.Filter):
    """Render the record (with its traceback) and strip addresses from the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        record.exc_info = None  # rendered already, in exc_text
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure(level: str) -> None:
    """Send the collector's and uvicorn's logs to stderr at `level`, redacted; no access log."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactAddresses())
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler] if name in ("uvicorn", "candor") else []
        logger.propagate = name not in ("uvicorn", "candor")
        logger.setLevel(level.upper())
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    access.disabled = True
