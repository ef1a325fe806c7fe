"""`/v1/stats/*` parameters at their edges: every bad value is a 400, every valid one answered."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from candor.analytics import queries
from candor.storage.questions import TOP_VALUES
from tests.server.conftest import TEST_TOKEN
from tests.support.load import make_event

if TYPE_CHECKING:
    from starlette.testclient import TestClient

    from candor.storage.base import Store

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.mark.parametrize(
    "params",
    [
        {"to": "9999-12-31"},
        {"from": "9999-12-31", "to": "9999-12-31"},
        {"to": "0001-01-01"},
        {"from": "0001-01-01", "to": "0001-01-05"},
        {"from": "0001-01-01"},
        {"since": "3660d", "to": "0001-01-01"},
    ],
)
def test_dates_at_the_calendar_edges_are_a_400(client: TestClient, params: dict[str, str]) -> None:
    """A day so early or late that its range leaves the calendar is refused with a reason."""
    answer = client.get("/v1/stats/overview", params=params, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "bad_query"


def test_a_far_but_representable_range_is_answered(client: TestClient) -> None:
    """Years well inside the calendar still work: the bound is the calendar, not a guess."""
    answer = client.get(
        "/v1/stats/overview", params={"from": "9000-01-01", "to": "9000-01-31"}, headers=AUTH
    )
    assert answer.status_code == 200, answer.text


def test_summary_accepts_every_section_at_once(client: TestClient) -> None:
    """`sections=` naming all seven sections (in any order, some twice) is a valid request."""
    every = ",".join(queries.SECTIONS)
    answer = client.get("/v1/stats/summary", params={"sections": every}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()["data"]) == sorted(queries.SECTIONS)
    backwards = ",".join((*reversed(queries.SECTIONS), *queries.SECTIONS[:2]))
    answer = client.get("/v1/stats/summary", params={"sections": backwards}, headers=AUTH)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("sections", "reason"),
    [
        ("overview,nope", "sections must be a comma-separated list of overview"),
        ("overview,", "sections must be a comma-separated list of overview"),
        (",", "sections must be a comma-separated list of overview"),
        ("", "sections must be a comma-separated list of overview"),
        ("overview," * 40, "too long"),
    ],
)
def test_summary_refuses_an_invalid_section_list(
    client: TestClient, sections: str, reason: str
) -> None:
    """An unknown or empty section, or junk, is a 400 that says why."""
    answer = client.get("/v1/stats/summary", params={"sections": sections}, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert reason in answer.json()["message"]


def test_public_marks_answer_with_more_versions_than_are_shown(
    client: TestClient, store: Store
) -> None:
    """With more releases than the top ones, /public still answers (their "(other)" row is no
    version to filter by). Found by schemathesis in a 4-minute `make fuzz`."""
    versions = [f"1.{minor}.0" for minor in range(TOP_VALUES["cli_version"] + 5)]
    store.insert_events([make_event(cli_version=v) for v in versions], dt.datetime.now(dt.UTC))
    answer = client.get("/v1/stats/public", headers=AUTH)
    assert answer.status_code == 200, answer.text
