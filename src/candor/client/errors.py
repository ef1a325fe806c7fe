"""The client's named errors. None of them ever reaches the host CLI's user as a traceback.

`Telemetry.record()` and sessions swallow every error (the one catch-all: `Telemetry._guard`);
`telemetry enable|disable` turn these into a one-line message and exit status 1::

    TelemetryError                  anything telemetry could not do
     ├── ConfigError                config.json could not be read or saved
     │    └── CorruptConfigError    config.json is not a JSON object: it is never overwritten
     ├── EndpointError              the endpoint is refused (plain http:// off loopback, ...)
     └── InvalidEventError          an event broke the schema: it is dropped, never sent

Mistakes of the CLI's author (an error code that is not snake_case, a non-exception class) are
plain `ValueError`/`TypeError` at declaration time, so they surface in the author's own tests.
"""

from __future__ import annotations


class TelemetryError(Exception):
    """Base class: something telemetry could not do."""


class ConfigError(TelemetryError):
    """The config file could not be read or written (permissions, read-only or missing HOME)."""


class CorruptConfigError(ConfigError):
    """The config file exists but is not a JSON object (or telemetry's part of it is damaged).

    It may hold the platform's own settings, so telemetry never rewrites it and counts itself
    off until the user repairs or deletes it. Its text is a sentence for the user: which file,
    what is wrong with it, and how to fix it.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"{path} is damaged ({reason}). Repair it, or delete it to start afresh; "
            "telemetry stays off until then"
        )
        self.path = path
        self.reason = reason


class EndpointError(TelemetryError):
    """The collector URL is refused: only https://, or http:// to a loopback address."""


class InvalidEventError(TelemetryError):
    """A built event does not satisfy candor.schema; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
