"""`~/.{platform}/config.json`: read it, and change telemetry's keys in it without losing others.

The file belongs to the platform first: every key telemetry does not own is written back with
the value it had. Telemetry owns two keys::

    {"installation_id": "<uuid4>", "telemetry": {"enabled": true, "notice_shown": true}}

The read, which every recording run makes, is `candor.client.recording.read_config`; this
module, loaded by a first run and by `telemetry enable|disable|status`, holds the writes.
Reads take no lock (writers replace the file by rename, so a reader sees the old file or the
new one). Every write re-reads under `config.json.lock`, then replaces the file atomically:
twenty first runs started together agree on one installation ID, and a write never loses a
key another process added a moment before. A file that is not a JSON object is never written.
"""

from __future__ import annotations

import os

from candor.client.files import atomic_write
from candor.client.recording import (
    CONFIG_FILE,
    ID_KEY,
    MAX_CONFIG_BYTES,
    PRIVATE_DIR_MODE,
    SECTION_KEY,
    config_section,
    config_settings,
    file_lock,
    read_config,
    read_small,
    valid_installation_id,
)
from candor.client.recording import unusable as _unusable

TYPE_CHECKING = False  # the typing module would cost the host CLI an import
if TYPE_CHECKING:
    from collections.abc import Callable

LOCK_SUFFIX = ".lock"


class TelemetrySettings:
    """Telemetry's part of the config, checked: what the user chose and what has been done."""

    __slots__ = ("enabled", "installation_id", "notice_shown")

    def __init__(self, enabled: bool | None, notice_shown: bool, installation_id: str | None):
        self.enabled = enabled  # None: the user never chose, the default applies
        self.notice_shown = notice_shown
        self.installation_id = installation_id  # None until the first run (or when invalid)

    def __repr__(self) -> str:
        return (
            f"TelemetrySettings(enabled={self.enabled!r}, notice_shown={self.notice_shown!r}, "
            f"installation_id={self.installation_id!r})"
        )


def new_installation_id() -> str:
    """A fresh random version 4 UUID: nothing about the user or the machine goes into it."""
    import uuid  # first run only: the import costs a millisecond the other runs do not pay

    return str(uuid.uuid4())


def parse_settings(data: dict[str, object], path: str = CONFIG_FILE) -> TelemetrySettings:
    """Telemetry's keys of a config object; CorruptConfigError when they hold the wrong types.

    A damaged `enabled` could be a user's attempt to turn telemetry off ("no", 0): rather
    than guess, the caller treats the whole config as unreadable, and telemetry as off.
    An invalid installation ID is only random data telemetry made, so it is simply replaced.
    """
    return TelemetrySettings(*config_settings(data, path))


def encode_config(data: dict[str, object]) -> bytes:
    """The file's bytes: indented, keys in their original order, non-ASCII kept as is."""
    import json

    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class ConfigFile:
    """The config file of one platform directory, e.g. `ConfigFile("/home/u/.your-platform")`."""

    __slots__ = ("directory", "lock_path", "path")

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, CONFIG_FILE)
        self.lock_path = self.path + LOCK_SUFFIX

    def files(self) -> list[str]:
        """The files the config part of telemetry may create, for `telemetry status`."""
        return [self.path, self.lock_path]

    def read(self) -> dict[str, object]:
        """The whole config object; {} when there is no file yet.

        Raises CorruptConfigError when the file is not a JSON object, ConfigError when it
        cannot be read at all.
        """
        return read_config(self.path)

    def salvaged_id(self) -> str | None:
        """The installation ID a damaged file still holds, for `telemetry status` (or None).

        The file is not parsed (it cannot be): its text is searched for the ID's key followed
        by a valid ID, so the user sees which installation they are, damaged file or not.
        """
        import re  # status only

        try:
            raw = read_small(self.path, MAX_CONFIG_BYTES, follow_links=True)[:MAX_CONFIG_BYTES]
        except OSError:
            return None
        text = raw.decode("utf-8", "replace")
        for match in re.finditer(rf'"{ID_KEY}"\s*:\s*"([^"]*)"', text):
            if valid_installation_id(match.group(1)):
                return match.group(1)
        return None

    def settings(self) -> TelemetrySettings:
        """Telemetry's checked keys, from a lock-free read (a recording run reads them with
        `candor.client.recording`, without this module)."""
        return parse_settings(self.read(), self.path)

    def claim_first_run(self) -> tuple[str | None, bool]:
        """Under the lock: make sure there is an installation ID and the notice is recorded.

        Returns the installation ID (None if the user disabled telemetry meanwhile) and
        whether *this* call marked the notice as shown, i.e. whether this process shows it.
        Of many processes racing here, exactly one gets True and all get the same ID.
        """
        outcome: tuple[str | None, bool] = (None, False)

        def change(data: dict[str, object]) -> bool:
            nonlocal outcome
            settings = parse_settings(data, self.path)
            if settings.enabled is False:
                return False
            changed = False
            ident = settings.installation_id
            if ident is None:
                ident = data[ID_KEY] = new_installation_id()
                changed = True
            if not settings.notice_shown:
                section = config_section(data, self.path)
                section["notice_shown"] = True
                data[SECTION_KEY] = section
                changed = True
            outcome = (ident, not settings.notice_shown)
            return changed

        self._update(change)
        return outcome

    def set_enabled(self, enabled: bool) -> None:
        """Remember the user's choice (`telemetry enable|disable`), keeping every other key.

        A damaged "telemetry" value is replaced: the user has just said what they want. A file
        that is not a JSON object at all is left alone (CorruptConfigError).
        """

        def change(data: dict[str, object]) -> bool:
            section = data.get(SECTION_KEY)
            if not isinstance(section, dict):
                section = {}
            section["enabled"] = enabled
            data[SECTION_KEY] = section
            return True

        self._update(change)

    def _update(self, change: Callable[[dict[str, object]], bool]) -> None:
        """Re-read under the lock, let `change` edit the object, write it back if it says so."""
        self._make_directory()
        try:
            with file_lock(self.lock_path):
                data = self.read()
                if change(data):
                    atomic_write(self.path, encode_config(data))
        except OSError as error:  # read-only HOME, full disk, a lock file we may not open
            raise _unusable(f"cannot write {self.path}: {error.strerror or error}") from error

    def _make_directory(self) -> None:
        # mkdir, not makedirs: a missing HOME is an error to report, never a directory to create.
        try:
            os.mkdir(self.directory, PRIVATE_DIR_MODE)
        except FileExistsError:
            pass
        except OSError as error:
            raise _unusable(f"cannot create {self.directory}: {error.strerror or error}") from error
