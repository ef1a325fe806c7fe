"""What the raw events of a test say, computed here by plain Python, and the privacy checks.

`check_figures` is the test oracle for every data set: given the raw events and the public
report's figures (data.json), it asserts that

- every published figure rests on at least K distinct installations and is the true value;
- in every table that adds up to a published total, the cells not shown, taken together (the
  only figure anyone can derive about them: the total minus the shown cells), rest on at
  least K installations, so no hidden cell is ever recovered by subtraction;
- hidden cells leave no count anywhere else (durations carry no run counts).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from candor.analytics.publish.suppression import round_duration

# installation_id, command, cli_version, os_arch, duration_ms, error_code, is_interactive, day
Raw = tuple[str, str, str, str, int, str | None, bool, dt.date]
PARTITIONS = {"commands": 1, "platforms": 3, "versions": 2}  # table → column of Raw


@dataclass
class Group:
    """The installations and events of one value of one dimension."""

    installations: set[str]
    events: int = 0
    durations: list[int] | None = None


def groups(rows: list[Raw], key: Any) -> dict[Any, Group]:
    """Rows grouped by key(row): their installations, events and durations."""
    out: dict[Any, Group] = defaultdict(lambda: Group(set(), 0, []))
    for row in rows:
        value = key(row)
        if value is None:
            continue
        group = out[value]
        group.installations.add(row[0])
        group.events += 1
        assert group.durations is not None
        group.durations.append(row[4])
    return dict(out)


def nearest_rank(durations: list[int], q: float) -> int:
    """The smallest duration with at least q of the runs at or below it."""
    ordered = sorted(durations)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def check_partition(table: dict[str, Any], truth: dict[str, Group], k: int) -> set[str]:
    """A breakdown of the total: shown cells are true and ≥ K; hidden ones together ≥ K."""
    shown = {row["name"]: row for row in table["rows"]}
    for name, row in shown.items():
        group = truth[name]
        assert row["installations"] == len(group.installations) >= k, (name, row)
        if "events" in row:
            assert row["events"] == group.events, (name, row)
    hidden = set(truth) - set(shown)
    if not hidden:
        assert table["other"] is None
        return hidden
    together = set().union(*(truth[name].installations for name in hidden))
    assert len(together) >= k, f"hidden cells {sorted(hidden)} rest on {len(together)} < {k}"
    other = table["other"]
    assert other is not None and "installations" not in other
    if "events" in other:
        assert other["events"] == sum(truth[name].events for name in hidden)
    return hidden


def check_figures(rows: list[Raw], figures: dict[str, Any], k: int) -> dict[str, set[str]]:
    """Assert the privacy floor and the true values; returns each partition's hidden cells."""
    assert figures["min_installations"] == k
    everyone = {row[0] for row in rows}
    if len(everyone) < k:
        assert figures["withheld"] is True
        assert set(figures) & set(PARTITIONS) == set()
        return {}
    assert figures["overview"] == {"installations": len(everyone), "events": len(rows)}
    hidden = {
        table: check_partition(figures[table], groups(rows, lambda r, c=column: r[c]), k)
        for table, column in PARTITIONS.items()
    }
    errors = groups(rows, lambda r: r[5])
    for row in figures["errors"]["rows"]:
        group = errors[row["name"]]
        assert row["installations"] == len(group.installations) >= k, row
        assert row["events"] == group.events
    by_command = groups(rows, lambda r: r[1])
    for row in figures["durations_by_command"]["rows"]:
        assert set(row) == {"command", "p50", "p90"}  # no run counts
        group = by_command[row["command"]]
        assert len(group.installations) >= k
        assert group.durations is not None
        assert row["p50"] == round_duration(nearest_rank(group.durations, 0.5))
        assert row["p90"] == round_duration(nearest_rank(group.durations, 0.9))
    by_release = groups(rows, lambda r: (r[1], r[2]))
    for row in figures["durations_by_release"]["rows"]:
        assert set(row) == {"command", "cli_version", "p50", "p90"}
        group = by_release[row["command"], row["cli_version"]]
        assert len(group.installations) >= k
        assert group.durations is not None
        assert row["p90"] == round_duration(nearest_rank(group.durations, 0.9))
    weeks = groups(rows, lambda r: (r[7] - dt.timedelta(days=r[7].weekday())).isoformat())
    for row in figures["weekly_active"]["rows"]:
        active = len(weeks[row["week"]].installations) if row["week"] in weeks else 0
        assert row["installations"] == (active if active >= k else None), row
    return hidden
