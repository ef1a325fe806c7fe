"""Build the nine-key event from what a run knows, and check it against candor.schema.

Validation happens here, before the event is spooled: an event the collector would reject
(a command name with an argument in it, an undeclared error code that is not snake_case) is
dropped on the user's machine rather than sent.
"""

from __future__ import annotations

from candor.client.errors import InvalidEventError
from candor.schema import EVENT_VERSION, MAX_DURATION_MS, validate_event

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from collections.abc import Sequence


def normalize_command(parts: str | Sequence[str]) -> str:
    """The event's `command` for a command path: lower-case words joined by one space.

    `["db", "Migrate"]`, `"db  migrate"` and `("db migrate",)` all give "db migrate". Only
    pass names from the CLI's own command tree, never what the user typed after them.
    """
    if isinstance(parts, str):
        parts = (parts,)
    return " ".join(word.lower() for part in parts for word in part.split())


def clamp_duration(duration_ms: float) -> int:
    """A whole, non-negative number of milliseconds within the schema's maximum."""
    return min(max(int(duration_ms), 0), MAX_DURATION_MS)


def build_event(
    *,
    installation_id: str,
    cli_version: str,
    command: str,
    os_arch: str,
    duration_ms: float,
    error_code: str | None,
    is_interactive: bool,
) -> dict[str, object]:
    """The event with exactly the schema's nine keys; a failure is any non-None error code.

    Raises InvalidEventError (with every problem) when the result breaks the schema.
    """
    event: dict[str, object] = {
        "event_version": EVENT_VERSION,
        "installation_id": installation_id,
        "cli_version": cli_version,
        "command": command,
        "os_arch": os_arch,
        "duration_ms": clamp_duration(duration_ms),
        "status": "success" if error_code is None else "failure",
        "error_code": error_code,
        "is_interactive": is_interactive,
    }
    # validate_event also reports a field the schema gained and this dict lacks ("missing").
    problems = validate_event(event)
    if problems:
        raise InvalidEventError(problems)
    return event
