"""What to audit and by which conventions: `candor audit`'s options, as plain data.

The defaults are Candor's conventions, so a Candor-instrumented CLI needs no option: platform
`your-platform` → config `~/.your-platform/`, `YOUR_PLATFORM_TELEMETRY_ENDPOINT`,
`YOUR_PLATFORM_TELEMETRY_OPT_OUT=1`, `telemetry disable` / `telemetry enable`.
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_PLATFORM = "your-platform"
DEFAULT_DISABLE = ["telemetry", "disable"]
DEFAULT_ENABLE = ["telemetry", "enable"]
DEFAULT_TIMEOUT_S = 15.0
DEFAULT_SETTLE_S = 8.0  # how long background work (a detached sender) may finish after a run
MEDIAN_RUNS = 3  # runs of each kind for check 6's medians


def env_prefix(platform: str) -> str:
    """`your-platform` → `YOUR_PLATFORM` (upper-cased, non-alphanumerics as `_`)."""
    return re.sub(r"[^A-Z0-9]", "_", platform.upper())


class AuditOptions:
    """The audit's inputs (round-tripped through JSON into the sandbox)."""

    def __init__(
        self,
        command: list[str],
        *,
        platform: str = DEFAULT_PLATFORM,
        endpoint_var: str | None = None,
        opt_outs: list[tuple[str, str]] | None = None,
        disable: list[str] | None = DEFAULT_DISABLE,
        enable: list[str] | None = DEFAULT_ENABLE,
        schema: dict[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        settle: float = DEFAULT_SETTLE_S,
        path: str = "/usr/bin:/bin",
        typed: list[str] | None = None,
        workdir: str | None = None,
    ) -> None:
        prefix = env_prefix(platform)
        self.command = command  # the program's absolute path first
        self.typed = typed or command  # as the user wrote it, for the report
        self.workdir = workdir  # copied as each run's working directory (None: an empty one)
        self.platform = platform
        self.endpoint_var = endpoint_var or f"{prefix}_TELEMETRY_ENDPOINT"
        self.opt_outs = opt_outs or [(f"{prefix}_TELEMETRY_OPT_OUT", "1")]
        self.disable = disable  # None or []: the disable/enable check is skipped
        self.enable = enable
        self.schema = schema  # None: Candor's shipped schema.json
        self.timeout = timeout
        self.settle = settle
        self.path = path  # PATH of the runs: the caller's, so the program is found as it was

    @property
    def config_dir(self) -> str:
        return f".{self.platform}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "platform": self.platform,
            "endpoint_var": self.endpoint_var,
            "opt_outs": [list(item) for item in self.opt_outs],
            "disable": self.disable,
            "enable": self.enable,
            "schema": self.schema,
            "timeout": self.timeout,
            "settle": self.settle,
            "path": self.path,
            "typed": self.typed,
            "workdir": self.workdir,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditOptions:
        return cls(
            data["command"],
            platform=data["platform"],
            endpoint_var=data["endpoint_var"],
            opt_outs=[(name, value) for name, value in data["opt_outs"]],
            disable=data["disable"],
            enable=data["enable"],
            schema=data["schema"],
            timeout=data["timeout"],
            settle=data["settle"],
            path=data["path"],
            typed=data["typed"],
            workdir=data["workdir"],
        )
