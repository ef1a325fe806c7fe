"""Fixtures for the integration tests: a Telemetry bound to a temporary HOME."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from candor.client import Telemetry
from tests.integrations.apps import APP_NAME, ERROR_CODES, VERSION

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def telemetry(home: Path) -> Telemetry:
    """A Telemetry for the sample apps, with an empty environment and a temporary HOME."""
    return Telemetry(
        platform="acme",
        cli_name=APP_NAME,
        cli_version=VERSION,
        endpoint="https://telemetry.acme.example/v1/event",
        policy_url="https://acme.example/telemetry",
        error_codes=ERROR_CODES,
        environ={},
        home=str(home),
    )
