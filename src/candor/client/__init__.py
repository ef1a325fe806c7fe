"""Candor's client: anonymous, opt-out-able usage telemetry for a Python CLI (stdlib only).

    from candor.client import Telemetry

Importing this package costs the host CLI almost nothing: the modules recording needs are
imported when it first records, and networking only ever happens in a detached sender process.
`TelemetryStatus` (the answer of `telemetry.status()`) loads when it is first asked for.
"""

from __future__ import annotations

from candor.client.telemetry import Telemetry

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from candor.client.status import TelemetryStatus
del TYPE_CHECKING

__all__ = ["Telemetry", "TelemetryStatus"]


def __getattr__(name: str) -> object:
    if name == "TelemetryStatus":
        from candor.client.status import TelemetryStatus

        globals()[name] = TelemetryStatus  # from now on a plain attribute
        return TelemetryStatus
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
