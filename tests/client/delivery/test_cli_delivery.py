"""The real `your-cli` against a real loopback server: every state, then recovery, exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from candor.client.spool import as_int, read_state
from tests.client.delivery.harness import expire_backoff, sender_pids
from tests.support.sink import wait_until

if TYPE_CHECKING:
    from candor.client.spool import Spool
    from tests.support.sink import Sink

YOUR_CLI = str(Path(sys.executable).with_name("your-cli"))
CLI_TIMEOUT_S = 60
CONCURRENT_RUNS = 50
DOWN_STATES = ["refuse", "hang", "status500", "status429", "redirect", "lose_answer"]


@pytest.fixture
def cli_env(home: Path, sink: Sink) -> dict[str, str]:
    """Telemetry on, reporting to the sink; the first run (notice only, no event) is done."""
    env = {**os.environ, "HOME": str(home), "YOUR_PLATFORM_TELEMETRY_ENDPOINT": sink.url}
    first = your_cli(env, "info")
    assert first.returncode == 0, first.stderr
    assert sink.requests == []
    return env


def your_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the demo CLI to completion."""
    return subprocess.run(
        [YOUR_CLI, *args], env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )


def run_info(env: dict[str, str], times: int = 1) -> None:
    for _ in range(times):
        result = your_cli(env, "info")
        assert result.returncode == 0, result.stderr


def sender_idle(directory: Path) -> bool:
    return not sender_pids(directory)


def test_answering_endpoint_gets_every_run_once(
    cli_env: dict[str, str], sink: Sink, spool: Spool
) -> None:
    """Five runs with the endpoint answering: five events arrive, once each, spool empty."""
    run_info(cli_env, 5)
    wait_until(lambda: spool.stats()["queued"] == 0 and len(sink.events) >= 5, "delivery")
    assert len(sink.events) == 5
    assert {event["command"] for event in sink.events} == {"info"}
    assert len(set(sink.keys())) == len(sink.requests)
    status = json.loads(your_cli(cli_env, "telemetry", "status", "--json").stdout)
    assert status["queued"] == 0
    assert status["last_delivery"] is not None


@pytest.mark.parametrize("mode", DOWN_STATES)
def test_endpoint_down_then_back_delivers_exactly_once(
    mode: str, cli_env: dict[str, str], sink: Sink, spool: Spool, directory: Path
) -> None:
    """Endpoint refusing, hanging, 500, 429, redirecting or losing answers: the CLI succeeds,
    events wait with a persisted backoff and no new attempt; once the endpoint is back every
    event arrives exactly once."""
    sink.set_mode(mode, retry_after="600")
    run_info(cli_env)
    wait_until(lambda: as_int(read_state(spool.state_path)["failures"]) == 1, "a failed attempt")
    wait_until(lambda: sender_idle(directory), "the failed sender to exit")
    attempts = len(sink.requests)
    run_info(cli_env, 2)
    assert sender_pids(directory) == []  # the backoff holds: no new sender, no new request
    assert len(sink.requests) == attempts
    status = json.loads(your_cli(cli_env, "telemetry", "status", "--json").stdout)
    assert (status["queued"], status["next_attempt"] is not None) == (3, True)

    sink.set_mode("answer")
    expire_backoff(spool)
    run_info(cli_env)
    wait_until(lambda: spool.stats()["queued"] == 0, "delivery after recovery")
    assert len(sink.events) == 4
    if mode == "lose_answer":  # the lost batch was retried under its key, not counted twice
        assert len(sink.requests) > len(set(sink.keys()))


def test_one_event_refused_in_a_batch_is_dropped_and_counted(
    cli_env: dict[str, str], sink: Sink, spool: Spool
) -> None:
    """A 202 rejecting one event of a batch: the others are stored, the spool empties, and
    `telemetry status` counts one rejected event."""
    with spool.locked() as tx:  # hold delivery back so the runs queue up into one batch
        tx.state["next_attempt_at"] = time.time() + 600
        tx.save_state()
    run_info(cli_env, 3)
    sink.set_mode("reject_index", reject_index=1)
    expire_backoff(spool)
    run_info(cli_env)
    wait_until(lambda: spool.stats()["queued"] == 0, "delivery")
    assert [len(request.batch()) for request in sink.requests] == [4]
    assert len(sink.events) == 3
    status = json.loads(your_cli(cli_env, "telemetry", "status", "--json").stdout)
    assert (status["rejected"], status["queued"]) == (1, 0)


def test_cli_returns_while_the_sender_hangs(
    cli_env: dict[str, str], sink: Sink, directory: Path
) -> None:
    """With an endpoint that never answers, the CLI exits normally while its sender still
    waits: the CLI never waits for the network."""
    sink.set_mode("hang")
    result = your_cli(cli_env, "info")
    assert result.returncode == 0
    wait_until(lambda: len(sink.requests) == 1, "the sender's request")
    assert sender_pids(directory) != []  # still blocked on the hanging endpoint
    sink.set_mode("answer")


def test_telemetry_adds_nothing_to_stdout(cli_env: dict[str, str], sink: Sink) -> None:
    """The CLI's stdout is the same with telemetry on (and sending) as opted out."""
    sending = your_cli(cli_env, "info")
    opted_out = your_cli({**cli_env, "YOUR_PLATFORM_TELEMETRY_OPT_OUT": "1"}, "info")
    assert sending.stdout == opted_out.stdout
    assert sending.stderr == opted_out.stderr == ""


def test_fifty_concurrent_runs_one_sender_nothing_lost_or_doubled(
    cli_env: dict[str, str], sink: Sink, spool: Spool, directory: Path
) -> None:
    """50 CLIs at once: one sender at a time, every event delivered, none twice."""
    sink.set_mode("answer", delay_s=0.02)  # slower answers make senders overlap if they can
    runs = [
        subprocess.Popen(
            [YOUR_CLI, "info"], env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(CONCURRENT_RUNS)
    ]
    errors = [run.communicate(timeout=CLI_TIMEOUT_S)[1] for run in runs]
    assert [run.returncode for run in runs] == [0] * CONCURRENT_RUNS, errors
    wait_until(lambda: spool.stats()["queued"] == 0 and not sender_pids(directory), "all delivered")
    assert len(sink.events) == CONCURRENT_RUNS
    assert sink.max_in_flight == 1
    assert len(set(sink.keys())) == len(sink.requests)
    stats = spool.stats()
    assert (stats["dropped"], stats["rejected"]) == (0, 0)


def test_disable_purges_the_spool_and_sends_nothing(
    cli_env: dict[str, str], sink: Sink, spool: Spool
) -> None:
    """`telemetry disable` deletes queued events; nothing about them, or later runs, is sent."""
    sink.set_mode("refuse")
    run_info(cli_env, 3)
    wait_until(lambda: as_int(read_state(spool.state_path)["failures"]) >= 1, "a failed attempt")
    assert spool.stats()["queued"] == 3
    result = your_cli(cli_env, "telemetry", "disable")
    assert result.returncode == 0, result.stderr
    assert spool.stats()["queued"] == 0
    assert not os.path.exists(spool.path)
    sink.set_mode("answer")
    expire_backoff(spool)
    run_info(cli_env, 2)
    assert spool.stats()["queued"] == 0
    assert sink.requests == []
