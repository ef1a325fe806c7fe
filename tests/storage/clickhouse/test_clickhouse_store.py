"""The ClickHouse store itself, on chDB (the current engine) and on a real 18.16 server:
what its URL means, the DDL each version gets, and the exact definitions of its answers."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING

import pytest

from candor.schema import FIELD_NAMES
from candor.storage import open_store
from candor.storage.base import StoreError, Submission
from candor.storage.clickhouse.url import PASSWORD_VARIABLE, parse
from candor.storage.questions import NO_FILTERS, TimeRange
from tests.support.load import make_event

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from candor.storage.clickhouse import ClickHouseStore
    from tests.support.clickhouse import ClickHouseServer

DAY = dt.datetime(2026, 3, 2, 12, 0)
RANGE = TimeRange(dt.date(2026, 3, 1), dt.date(2026, 3, 2))


@pytest.fixture(params=["chdb", "server-18.16"])
def ch_store(request: pytest.FixtureRequest) -> ClickHouseStore:
    url = request.getfixturevalue("chdb_url" if request.param == "chdb" else "clickhouse_url")
    store = open_store(url)
    request.addfinalizer(store.close)
    return store  # type: ignore[return-value]


def row(**changes: object) -> tuple[object, ...]:
    values = make_event(**changes)
    return tuple(values[name] for name in FIELD_NAMES)


@contextlib.contextmanager
def recorded_statements(store: ClickHouseStore) -> Iterator[list[str]]:
    """The SQL of every statement the store's questions run inside the block, in order."""
    connection = store.questions._con
    unlimited = connection.rows
    statements: list[str] = []

    def counted(sql: str, settings: dict[str, int | str] | None = None) -> list[tuple[object, ...]]:
        statements.append(sql)
        return unlimited(sql, settings)

    connection.rows = counted  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        connection.rows = unlimited  # type: ignore[method-assign]


def test_url_forms_and_password_from_the_environment() -> None:
    """Default ports per scheme, a default database, the password from the URL or the
    environment, and a display form that never shows it."""
    plain = parse("clickhouse://alice:s%40cret@db.example:9100/telemetry")
    assert (plain.host, plain.port, plain.user, plain.password, plain.database) == (
        "db.example", 9100, "alice", "s@cret", "telemetry",
    )  # fmt: skip
    assert not plain.secure
    tls = parse("clickhouses://alice@db.example/t?cluster=main", {PASSWORD_VARIABLE: "env-pw"})
    assert (tls.port, tls.password, tls.secure, tls.cluster) == (9440, "env-pw", True, "main")
    assert "env-pw" not in tls.display and "s@cret" not in plain.display
    assert tls.display == "clickhouses://alice@db.example:9440/t?cluster=main"
    for bad in ("clickhouse:///db", "clickhouse://h/bad-name!", "clickhouse://h/db?color=red"):
        with pytest.raises(StoreError):
            parse(bad)


def test_a_wrong_password_is_one_clear_line(clickhouse_server: ClickHouseServer) -> None:
    url = f"clickhouse://candor:wrong@127.0.0.1:{clickhouse_server.tcp_port}/x"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "\n" not in str(caught.value)
    assert "password" in str(caught.value) and "wrong" not in str(caught.value)


def test_an_unreachable_server_is_a_store_error() -> None:
    from tests.conftest import unused_port

    with pytest.raises(StoreError, match="cannot reach ClickHouse"):
        open_store(f"clickhouse://candor@127.0.0.1:{unused_port()}/x")


def test_ddl_follows_the_server_version(ch_store: ClickHouseStore) -> None:
    """LowCardinality and TTL where the server has them, plain types on 18.16; the events
    table is partitioned by month and ordered for the dashboard's filters."""
    ((create,),) = ch_store.query(
        "SELECT create_table_query FROM system.tables WHERE database = ? AND name = 'events'",
        [ch_store.layout.database],
    )
    assert "toYYYYMM(received_at)" in create
    assert (
        "ORDER BY (toDate(received_at), command, cli_version, os_arch, installation_id)" in create
    )
    modern = ch_store.layout.version >= (20,)
    assert ("LowCardinality(String)" in create) is modern
    ((keys,),) = ch_store.query(
        "SELECT create_table_query FROM system.tables WHERE database = ? "
        "AND name = 'idempotency_keys'",
        [ch_store.layout.database],
    )
    assert ("TTL" in keys) is modern


def test_percentiles_are_nearest_rank(ch_store: ClickHouseStore) -> None:
    """pN is the ⌈N·n/100⌉-th smallest duration: checked on sizes where a float rank or
    ClickHouse's own quantileExact would pick another element."""
    durations = {"a": [10, 20, 30, 40], "b": list(range(1, 101)), "c": [7], "d": list(range(1, 11))}
    ch_store.commit(
        [
            Submission([row(command=cmd, duration_ms=d) for d in values], DAY, b"ok")
            for cmd, values in durations.items()
        ]
    )
    rows = ch_store.duration_percentiles(RANGE, NO_FILTERS, by_version=False)
    got = {p.command: (p.events, [p.p50, p.p90, p.p99], p.max) for p in rows}

    def rank(values: list[int], n: int) -> int:
        ordered = sorted(values)
        return ordered[-(-n * len(ordered) // 100) - 1]

    expected = {
        cmd: (len(v), [rank(v, 50), rank(v, 90), rank(v, 99)], max(v))
        for cmd, v in durations.items()
    }
    assert got == expected
    assert got["a"][1] == [20, 40, 40]  # the p50 of four runs is the 2nd


def test_questions_read_only_their_range(ch_store: ClickHouseStore) -> None:
    """Questions filter rows by the stored `day`, and leave the range on received_at to the
    month partitions and the primary key (through indexHint where the server reads it): an
    older month's events are never read, on a server whose indexHint ignores its argument
    (18.16) too."""
    january = [row(command="old") for _ in range(20_000)]
    ch_store.commit([Submission(january, dt.datetime(2026, 1, 10), b"x")])
    ch_store.commit([Submission([row() for _ in range(10)], DAY, b"x")])
    connection = ch_store.questions._con
    unlimited = connection.rows

    def limited(sql: str, settings: dict[str, int | str] | None = None) -> list[tuple[object, ...]]:
        # The server refuses a statement that would read more rows than March's one part
        # (18.16 counts whole granules of 8,192 rows, a current server the part's 10 rows):
        # January's 20,000 must not be read.
        return unlimited(sql, {**(settings or {}), "max_rows_to_read": 12_000})

    connection.rows = limited  # type: ignore[method-assign]
    try:
        assert [t.name for t in ch_store.command_counts(RANGE, NO_FILTERS).rows] == ["build"]
        assert ch_store.dimension_values(RANGE).commands == ["build"]
        assert ch_store.platform_counts(RANGE, NO_FILTERS).total.events == 10
        assert ch_store.version_counts(RANGE, NO_FILTERS).installations == 10
        assert ch_store.error_counts(RANGE, NO_FILTERS).by_command[0].events == 10
        assert [p.events for p in ch_store.duration_percentiles(RANGE, NO_FILTERS, by_version=True)
                ] == [10]  # fmt: skip
    finally:
        connection.rows = unlimited  # type: ignore[method-assign]


def test_error_counts_read_the_events_twice(ch_store: ClickHouseStore) -> None:
    """The error question passes over the range's events twice when no dimension needs
    folding: once for events, failures and the installations with a failure per command and
    per version (-If combinators), once for the failures by error code; each pass hashes
    installation ids (the dashboard's cost on 10 M events)."""
    failed = {"status": "failure", "error_code": "E_NET"}
    ch_store.commit([Submission([row(), row(**failed), row(**failed)], DAY, b"x")])
    with recorded_statements(ch_store) as statements:
        counts = ch_store.error_counts(RANGE, NO_FILTERS)
    tallies = [(t.name, t.events, t.failures, t.installations_failing) for t in counts.by_command]
    assert tallies == [("build", 3, 2, 2)]
    assert [(t.error_code, t.events) for t in counts.by_code] == [("E_NET", 2)]
    assert len(statements) == 2


def test_new_installations_come_from_their_first_days(ch_store: ClickHouseStore) -> None:
    """Unfiltered, on a range that starts after the earliest stored day, the installations
    question hashes the range's installation ids once (active per day and week): the new
    ones per day are the installations table's first days, not a second pass grouping the
    range's events per installation."""
    earlier, later = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "b1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
    ch_store.commit([Submission([row(installation_id=earlier)], DAY - dt.timedelta(days=3), b"x")])
    ch_store.commit([Submission([row(installation_id=i) for i in (earlier, later)], DAY, b"x")])
    with recorded_statements(ch_store) as statements:
        daily = ch_store.installation_counts(RANGE, NO_FILTERS).daily
    assert [(d.day, d.active, d.new) for d in daily] == [(DAY.date(), 2, 1)]
    events = ch_store.layout.table("events")
    hashing = [sql for sql in statements if f"{events} " in sql and "installation_id" in sql]
    assert len(hashing) == 1


def test_usage_totals_pass_over_the_range_once(ch_store: ClickHouseStore) -> None:
    """Unfiltered, on a range that starts after the earliest stored day, the totals are one
    flat pass over the range's events (new installations from their first days), not a pass
    per installation plus another for the distinct commands."""
    earlier, later = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "b1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
    ch_store.commit([Submission([row(installation_id=earlier)], DAY - dt.timedelta(days=3), b"x")])
    failed = row(installation_id=later, status="failure", error_code="E_NET", command="test")
    ch_store.commit([Submission([row(installation_id=earlier), failed], DAY, b"x")])
    with recorded_statements(ch_store) as statements:
        totals = ch_store.usage_totals(RANGE, NO_FILTERS)
    assert (totals.events, totals.failures, totals.installations, totals.new_installations,
            totals.commands) == (2, 1, 2, 1, 2)  # fmt: skip
    scans = f"FROM {ch_store.layout.table('events')} WHERE"
    assert sum(sql.count(scans) for sql in statements) == 1


@pytest.mark.parametrize("url_fixture", ["chdb_url", "clickhouse_url"])
def test_a_store_from_before_the_day_column_still_answers(
    request: pytest.FixtureRequest, url_fixture: str
) -> None:
    """A store whose events table was created before the `day` column existed is read
    through toDate(received_at), with the same answers."""
    url = request.getfixturevalue(url_fixture)
    first: ClickHouseStore = open_store(url)  # type: ignore[assignment]
    try:
        first.questions._con.run(f"ALTER TABLE {first.layout.local('events')} DROP COLUMN day")
    finally:
        first.close()
    store = open_store(url)
    try:
        iid = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
        store.commit([Submission([row(installation_id=iid) for _ in range(3)], DAY, b"x")])
        totals = store.usage_totals(RANGE, NO_FILTERS)
        assert (totals.events, totals.installations, totals.new_installations) == (3, 1, 1)
        daily = store.installation_counts(RANGE, NO_FILTERS).daily
        assert [(d.day, d.active, d.new) for d in daily] == [(DAY.date(), 1, 1)]
    finally:
        store.close()


def test_a_key_committed_by_one_store_replays_through_another(
    request: pytest.FixtureRequest,
) -> None:
    """Two stores on one server (two collectors): the key lives in ClickHouse, so a retry
    through the second is answered with the first's answer and stores nothing."""
    url = request.getfixturevalue("clickhouse_url")
    first, second = open_store(url), open_store(url)
    try:
        assert not first.commit([Submission([row(), row()], None, b"first", "batch-1")])[0].replayed
        again = second.commit([Submission([row(), row()], None, b"second", "batch-1")])
        assert (again[0].answer, again[0].replayed) == (b"first", True)
        assert second.lookup_answer("batch-1") == b"first"
        assert first.count() == second.count() == 2  # type: ignore[attr-defined]
    finally:
        first.close()
        second.close()


def test_first_day_survives_a_prune(ch_store: ClickHouseStore) -> None:
    """An installation first seen before a prune is not new again on its next day."""
    iid = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
    ch_store.commit([Submission([row(installation_id=iid)], dt.datetime(2026, 1, 5), b"x")])
    ch_store.commit([Submission([row(installation_id=iid)], dt.datetime(2026, 3, 2), b"x")])
    assert ch_store.prune(dt.datetime(2026, 3, 1)) == 1
    totals = ch_store.usage_totals(RANGE, NO_FILTERS)
    assert (totals.installations, totals.new_installations) == (1, 0)
    assert ch_store.prune(dt.datetime(2026, 4, 1)) == 1
    assert ch_store.query("SELECT count() FROM installations") == [(0,)]


def test_clickhouses_verifies_the_server_certificate(tmp_path: Path) -> None:
    """clickhouses:// speaks TLS to the secure native port, verified against `?ca=`; a server
    whose certificate that CA did not sign is refused with one line."""
    import trustme

    from tests.support.clickhouse import ClickHouseServer, skip_reason

    if skip_reason():
        pytest.skip(skip_reason())
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    chain, key, ca_file = tmp_path / "chain.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_file))
    server = ClickHouseServer(tmp_path / "tls", tls=(chain, key)).start()
    try:
        store = open_store(server.url("tls_db", ca=ca_file))
        try:
            store.commit([Submission([row()], DAY, b"ok")])
            assert store.count_events() == 1
            assert store.url.startswith("clickhouses://candor@127.0.0.1:")
        finally:
            store.close()
        other = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        with pytest.raises(StoreError) as refused:
            open_store(server.url("tls_db", ca=other))
        assert "\n" not in str(refused.value)
    finally:
        server.stop()


def test_timeout_parameter() -> None:
    assert parse("clickhouse://h/db?timeout=2.5").timeout == 2.5
    assert parse("clickhouse://h/db").timeout == 20.0
    for bad in ("0", "x", "99999"):
        with pytest.raises(StoreError, match="timeout"):
            parse(f"clickhouse://h/db?timeout={bad}")
