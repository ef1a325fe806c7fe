"""`TelemetryStatus`, the answer of `telemetry status`, and how it is read.

Loaded by `telemetry status` (and `enable`/`disable`, which answer with it), never by a run
that records or is opted out.
"""

from __future__ import annotations

from candor.client.consent import (
    SOURCE_NO_HOME,
    SOURCE_UNREADABLE,
    config_decision,
    endpoint_problem,
)

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from candor.client import Telemetry


class TelemetryStatus:
    """The proof of what telemetry does right now: the answer of `telemetry status`."""

    __slots__ = (
        "debug", "dropped", "enabled", "endpoint", "endpoint_problem", "files",
        "installation_id", "last_delivery", "last_failure", "last_failure_at", "next_attempt",
        "problem", "queued", "rejected", "source", "source_value",
    )  # fmt: skip

    def __init__(
        self,
        *,
        enabled: bool,
        source: str,
        source_value: str | None = None,
        installation_id: str | None,
        files: list[str],
        endpoint: str,
        endpoint_problem: str | None = None,
        debug: bool = False,
        queued: int = 0,
        dropped: int = 0,
        rejected: int = 0,
        last_delivery: str | None = None,
        next_attempt: str | None = None,
        last_failure: str | None = None,
        last_failure_at: str | None = None,
        problem: str | None = None,
    ) -> None:
        self.enabled = enabled
        self.source = source  # what decided: a variable's name, "config", "default", ...
        self.source_value = source_value  # the deciding variable's value, when one decided
        self.installation_id = installation_id  # None before the first run
        self.files = files  # every file telemetry may create, existing or not
        self.endpoint = endpoint
        self.endpoint_problem = endpoint_problem  # why nothing is sent there, if refused
        self.debug = debug
        self.queued = queued  # events waiting in the spool
        self.dropped = dropped  # events lost locally (spool full, damaged), never sent
        self.rejected = rejected  # events the collector refused
        self.last_delivery = last_delivery  # ISO 8601 UTC of the last acknowledged batch
        self.next_attempt = next_attempt  # ISO 8601 UTC while a backoff is pending
        # Why the latest delivery attempt failed ("connection refused", "HTTP 503", ...) and
        # when; cleared by the next acknowledged batch.
        self.last_failure = last_failure
        self.last_failure_at = last_failure_at
        self.problem = problem  # why the config or the spool could not be read

    def as_dict(self) -> dict[str, object]:
        """Every field, for `telemetry status --json`."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        return f"TelemetryStatus(enabled={self.enabled!r}, source={self.source!r})"


def read_status(telemetry: Telemetry) -> TelemetryStatus:
    """What `telemetry` does now and why, read without creating or changing any file."""
    from candor.client.errors import TelemetryError
    from candor.client.spool import Spool

    config = telemetry._config()
    spool = Spool(telemetry.directory)
    decision = telemetry.switches.decision()
    problem = telemetry.home_problem or telemetry._missing_home()
    installation_id = None
    if problem is not None:
        decision = decision or (False, SOURCE_NO_HOME)
    else:
        try:
            settings = config.settings()
            installation_id = settings.installation_id
            if decision is None:
                decision = config_decision(settings.enabled)
        except TelemetryError as error:
            problem = str(error)
            installation_id = config.salvaged_id()
    if decision is None:
        decision = (False, SOURCE_UNREADABLE)
    try:
        stats = spool.stats()
    except OSError as error:
        stats = {}
        problem = problem or f"cannot read the spool: {error.strerror or error}"
    return TelemetryStatus(
        enabled=decision[0],
        source=decision[1],
        source_value=telemetry.switches.values.get(decision[1]),
        installation_id=installation_id,
        files=config.files() + spool.files(),
        endpoint=telemetry.endpoint,
        endpoint_problem=endpoint_problem(telemetry.endpoint),
        debug=telemetry.switches.debug,
        queued=_count(stats.get("queued")),
        dropped=_count(stats.get("dropped")),
        rejected=_count(stats.get("rejected")),
        last_delivery=_text(stats.get("last_success_at")),
        next_attempt=_text(stats.get("next_attempt_at")),
        last_failure=_text(stats.get("last_failure")),
        last_failure_at=_text(stats.get("last_failure_at")),
        problem=problem,
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
