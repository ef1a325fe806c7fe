"""Log redaction: no IPv4/IPv6 address survives, tracebacks included."""

from __future__ import annotations

import logging

import pytest

from candor.server.runtime.logs import RedactAddresses, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("peer 203.0.113.9:51234 sent junk", "peer [address]:51234 sent junk"),
        ("from 2001:db8::1 and ::1", "from [address] and [address]"),
        ("mapped ::ffff:192.0.2.1", "mapped ::ffff:[address]"),
        ("at 12:34:56, version 0.2.1", "at 12:34:56, version 0.2.1"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    """Addresses become [address]; clock times and versions stay."""
    assert redact(text) == expected


def test_the_filter_redacts_messages_arguments_and_tracebacks() -> None:
    """A record's arguments and its exception text are rendered, then redacted."""
    try:
        raise ValueError("client 192.0.2.77 broke it")
    except ValueError:
        record = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "from %s", ("192.0.2.77",), None
        )
        import sys

        record.exc_info = sys.exc_info()
    assert RedactAddresses().filter(record)
    rendered = logging.Formatter().format(record)
    assert "192.0.2.77" not in rendered
    assert "ValueError: client [address] broke it" in rendered
