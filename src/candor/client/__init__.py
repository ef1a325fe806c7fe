"""Candor's client: anonymous, opt-out-able usage telemetry for a Python CLI (stdlib only).

    from candor.client import Telemetry

Importing this package costs the host CLI almost nothing: the modules recording needs are
imported when it first records, and networking only ever happens in a detached sender process.
"""

from __future__ import annotations

from candor.client.consent import TelemetryStatus
from candor.client.telemetry import Telemetry

__all__ = ["Telemetry", "TelemetryStatus"]
