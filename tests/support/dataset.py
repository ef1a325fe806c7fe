"""A small known data set for the analytics, with every answer computed by hand below.

Four installations over three UTC days (Monday 2025-03-03, Tuesday 03-04, next Monday 03-10)::

    #   who cmd     version os               ms  status  error_code        interactive  day
    1   A   build   1.0.0   linux-x86_64    100  ok                        yes          03-03
    2   A   build   1.0.0   linux-x86_64    200  ok                        yes          03-03
    3   A   deploy  1.0.0   linux-x86_64   1000  fail    registry_timeout  yes          03-03
    4   B   build   1.0.0   macos-aarch64   300  ok                        yes          03-03
    5   B   build   1.1.0   macos-aarch64   400  fail    compile_error     yes          03-04
    6   C   build   1.1.0   linux-x86_64    500  fail    compile_error     no (CI)      03-04
    7   C   test    1.1.0   linux-x86_64     50  ok                        no (CI)      03-04
    8   A   build   1.1.0   linux-x86_64    600  ok                        yes          03-10
    9   D   deploy  1.1.0   windows-x86_64   10  fail    auth_expired      yes          03-10
    10  D   deploy  1.1.0   windows-x86_64   20  fail    auth_expired      yes          03-10
    11  D   deploy  1.1.0   windows-x86_64   30  fail    auth_expired      yes          03-10
    12  B   build   1.0.0   macos-aarch64   250  ok                        yes          03-04

D is "one installation failing 3 times"; compile_error is "two installations, once each".
Each event goes in through `Store.insert_events` on its own, so the rollups are built by the
incremental path (`rollups.update`) exactly as under the collector.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from candor.analytics.filters import TimeRange

if TYPE_CHECKING:
    from candor.storage.base import Store

A = "0b8e3c52-9d3e-4a55-8f0f-2a1d6c1b7e01"
B = "7f4c2d10-1b6a-4c3e-9a2b-5e8d7c6b5a02"
C = "c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e03"
D = "1a2b3c4d-5e6f-4a7b-b8c9-d0e1f2a3b404"
INSTALLATIONS = (A, B, C, D)

DAY1, DAY2, DAY3 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 10)
WHOLE = TimeRange(DAY1, DAY3)  # 8 days, Monday to the next Monday

ROWS = (
    (A, "build", "1.0.0", "linux-x86_64", 100, None, True, DAY1),
    (A, "build", "1.0.0", "linux-x86_64", 200, None, True, DAY1),
    (A, "deploy", "1.0.0", "linux-x86_64", 1000, "registry_timeout", True, DAY1),
    (B, "build", "1.0.0", "macos-aarch64", 300, None, True, DAY1),
    (B, "build", "1.1.0", "macos-aarch64", 400, "compile_error", True, DAY2),
    (C, "build", "1.1.0", "linux-x86_64", 500, "compile_error", False, DAY2),
    (C, "test", "1.1.0", "linux-x86_64", 50, None, False, DAY2),
    (A, "build", "1.1.0", "linux-x86_64", 600, None, True, DAY3),
    (D, "deploy", "1.1.0", "windows-x86_64", 10, "auth_expired", True, DAY3),
    (D, "deploy", "1.1.0", "windows-x86_64", 20, "auth_expired", True, DAY3),
    (D, "deploy", "1.1.0", "windows-x86_64", 30, "auth_expired", True, DAY3),
    (B, "build", "1.0.0", "macos-aarch64", 250, None, True, DAY2),
)


def event(
    installation_id: str,
    command: str,
    cli_version: str,
    os_arch: str,
    duration_ms: int,
    error_code: str | None,
    is_interactive: bool,
) -> dict[str, object]:
    """One valid schema-1.0 event."""
    return {
        "event_version": "1.0",
        "installation_id": installation_id,
        "cli_version": cli_version,
        "command": command,
        "os_arch": os_arch,
        "duration_ms": duration_ms,
        "status": "failure" if error_code else "success",
        "error_code": error_code,
        "is_interactive": is_interactive,
    }


def load_known(store: Store, first_day: dt.date = DAY1) -> None:
    """Insert the twelve events above, one commit each, at 10:00 + n minutes of their day.

    With `first_day`, every day moves by the same amount (DAY1 becomes `first_day`).
    """
    shift = first_day - DAY1
    for number, (*fields, day) in enumerate(ROWS):
        received = dt.datetime.combine(day + shift, dt.time(10, number))
        store.insert_events([event(*fields)], received)
