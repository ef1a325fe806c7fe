"""Hypothesis: random data sets through a real DuckDB store and the query layer; the floor holds.

Each example writes its events into a fresh store, computes the public figures as `candor
publish` does, and checks them with tests.publish.truth against the raw events.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from candor.analytics.filters import TimeRange, utc_today
from candor.analytics.publish.figures import gather, public_figures
from candor.storage import open_store
from tests.publish.conftest import write_store
from tests.publish.dataset import installation_id
from tests.publish.truth import Raw, check_figures

TODAY = utc_today()
COMMANDS = ("build", "test", "deploy", "lint")
VERSIONS = ("1.0.0", "1.1.0", "2.0.0")
PLATFORMS = ("linux-x86_64", "macos-aarch64", "windows-x86_64")
ERRORS = (None, None, "compile_error", "timeout")


@st.composite
def data_sets(draw: st.DrawFn) -> list[Raw]:
    """Up to 30 installations, each with a home platform, running a few commands."""
    rows: list[Raw] = []
    for n in range(draw(st.integers(1, 30))):
        who, home = installation_id(n), draw(st.sampled_from(PLATFORMS))
        for _ in range(draw(st.integers(1, 6))):
            error = draw(st.sampled_from(ERRORS))
            rows.append((
                who, draw(st.sampled_from(COMMANDS)), draw(st.sampled_from(VERSIONS)), home,
                draw(st.integers(0, 20_000)), error, draw(st.booleans()),
                TODAY - dt.timedelta(days=draw(st.integers(0, 40))),
            ))  # fmt: skip
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_sets(), st.integers(2, 8))
def test_random_data_sets_never_publish_a_small_group(rows: list[Raw], k: int) -> None:
    """Every figure of the public report rests on ≥ K; no hidden cell comes out by subtraction."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_store(Path(folder) / "events.duckdb", rows)
        store = open_store(str(path))
        try:
            time_range = TimeRange.last(90, TODAY)
            figures = public_figures(gather(store, time_range), time_range, k)
        finally:
            store.close()
    check_figures(rows, figures, k)
