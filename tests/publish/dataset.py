"""A known data set with small groups, built so each protection of the public report is needed.

25 installations, K = 10, events on days counted back from today (so `--since 90d` holds them):

- commands: build (25 installations), test (14), deploy (11), lint (4), init (3). lint and init
  are hidden, and together they rest on 7 < 10, so deploy, the smallest shown command, must be
  hidden with them: "other" = deploy + lint + init.
- platforms: linux-x86_64 (15), macos-aarch64 (8), windows-x86_64 (2). The two small ones
  together are 10 installations (the total minus linux's 15), so "other" needs no third.
- versions: 1.0.0 (12), 1.1.0 (20), 1.2.0 (3): 1.2.0 alone would be recovered from the total, so
  1.0.0 joins it.
- error codes: compile_error (12 installations), timeout (5), and auth_expired: 60 failures of
  ONE installation, the case the floor exists for: never shown.
- durations: build × 1.2.0 rests on 3 installations: no percentile for it.
- weeks: installations 0–2 also ran 40 days ago: that week has 3 active installations, hidden.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.publish.truth import Raw

K = 10
SEED = 12


def installation_id(number: int) -> str:
    """A fixed, valid version 4 UUID for installation `number`."""
    return str(uuid.UUID(int=random.Random(number).getrandbits(128), version=4))


def known_rows(today: dt.date) -> list[Raw]:
    """The events described above, with seeded random durations."""
    rng = random.Random(SEED)
    rows: list[Raw] = []
    for n in range(25):
        who = installation_id(n)
        os_arch = "linux-x86_64" if n < 15 else "macos-aarch64" if n < 23 else "windows-x86_64"
        versions = [v for v, members in (("1.0.0", range(12)), ("1.1.0", range(5, 25)),
                                         ("1.2.0", range(3))) if n in members]  # fmt: skip
        commands = [c for c, members in (("build", range(25)), ("test", range(14)),
                                         ("deploy", range(10, 21)), ("lint", range(21, 25)),
                                         ("init", range(3))) if n in members]  # fmt: skip
        for command in commands:
            for version in versions:
                day = today - dt.timedelta(days=rng.randrange(0, 12))
                duration = rng.randrange(50, 5000)
                rows.append((who, command, version, os_arch, duration, None, True, day))
        if n < 12:
            rows.append((who, "build", versions[-1], os_arch, 900, "compile_error", False, today))
        if n < 5:
            rows.append((who, "test", versions[-1], os_arch, 30_000, "timeout", True, today))
        if n < 3:
            rows.append((who, "init", "1.0.0", os_arch, 120, None, True, today - dt.timedelta(40)))
    lone = installation_id(20)  # on deploy and 1.1.0 already
    rows += [(lone, "deploy", "1.1.0", "macos-aarch64", 10 + i, "auth_expired", True, today)
             for i in range(60)]  # fmt: skip
    return rows
