"""Coverage-guided fuzzing (atheris, libFuzzer) of the collector's request handling, in process.

Each input is one request to the real app (`create_app` over a DuckDB store in a temporary
folder), called through ASGI as uvicorn would: its first byte picks the request's shape
(POST /v1/event with one of several header sets, or GET /v1/stats/… whose query string is the
rest of the input), the rest is the body or the query. The property, checked on every input:
the answer is a 2xx or 4xx with a JSON body of the documented shape, never a 5xx and never an
exception out of the app. The candor modules are instrumented, so libFuzzer learns which
inputs reach new code in them (msgspec and DuckDB are C: they are exercised, not measured).

    python -m tests.server.fuzz_app [libFuzzer flags] CORPUS_DIR...
    python -m tests.server.fuzz_app --seed-corpus DIR     # write the seed corpus and exit

tests/server/test_fuzz_app.py runs it for FUZZ_SECONDS; `make fuzz` for longer.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["candor"]):
    from candor.schema import EVENT_PATH
    from candor.server.http.app import create_app
    from candor.server.runtime.settings import Settings
    from candor.storage import open_store

TOKEN = "fuzz-admin-token"
JSON_HEADERS = [(b"content-type", b"application/json")]
# The first byte of an input, modulo len(SHAPES), picks one of these.
SHAPES: list[tuple[str, list[tuple[bytes, bytes]]]] = [
    ("post", JSON_HEADERS),
    ("post", JSON_HEADERS),
    ("post", JSON_HEADERS),
    ("post-gzip", [*JSON_HEADERS, (b"content-encoding", b"gzip")]),  # the body is gzipped
    ("post", [*JSON_HEADERS, (b"content-encoding", b"gzip")]),  # claims gzip, is not
    ("post", [*JSON_HEADERS, (b"content-encoding", b"identity")]),
    ("post", [(b"content-type", b"application/json; charset=utf-8")]),
    ("post", [(b"content-type", b"text/plain")]),
    ("post-key", JSON_HEADERS),  # the body's first line is the Idempotency-Key
    ("stats", []),
    ("summary", []),
]
STATS_PATHS = ("overview", "commands", "performance", "errors", "installations", "dimensions")
ERROR_STATUSES = {400, 401, 404, 405, 413, 415, 429, 503}


class Harness:
    """The app, its event loop and its store, kept across inputs."""

    def __init__(self, folder: Path) -> None:
        self.store = open_store(str(folder / "events.duckdb"))
        settings = Settings(admin_token=TOKEN, admin_token_generated=False, rate_limit=0)
        self.app = create_app(settings, self.store)
        self.loop = asyncio.new_event_loop()
        self.lifespan: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        started = asyncio.Event()

        async def receive() -> dict[str, Any]:
            return await self.lifespan.get()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()
            elif message["type"].startswith("lifespan.startup"):
                raise RuntimeError(f"the app did not start: {message}")

        self.lifespan.put_nowait({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan_task = asyncio.ensure_future(self.app(scope, receive, send))
        await started.wait()

    def request(
        self, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of one request through the app's ASGI interface."""
        return self.loop.run_until_complete(self._request(method, path, query, headers, body))

    async def _request(
        self, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query, "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8787), "state": {},
        }  # fmt: skip
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0
        answer_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_headers.update(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, answer_headers, b"".join(chunks)


def one_input(harness: Harness, data: bytes) -> None:
    """Send the request `data` describes and check the answer (AssertionError: a finding)."""
    if not data:
        return
    shape, headers = SHAPES[data[0] % len(SHAPES)]
    rest = data[1:]
    if shape in ("stats", "summary"):
        name = "summary" if shape == "summary" else STATS_PATHS[len(rest) % len(STATS_PATHS)]
        auth = [(b"authorization", f"Bearer {TOKEN}".encode())]
        status, answer_headers, body = harness.request("GET", f"/v1/stats/{name}", rest, auth, b"")
        assert status in (200, 400, 503), (status, body)
    else:
        if shape == "post-gzip":
            rest = gzip.compress(rest, mtime=0)
        elif shape == "post-key":
            key, _, rest = rest.partition(b"\n")
            headers = [*headers, (b"idempotency-key", key)]
        status, answer_headers, body = harness.request("POST", EVENT_PATH, b"", headers, rest)
        assert status == 202 or status in ERROR_STATUSES, (status, body)
    assert answer_headers.get("content-type", "").startswith("application/json"), answer_headers
    answer = json.loads(body)
    if status >= 400:
        assert set(answer) == {"error", "message"}, answer
    elif shape.startswith("post"):
        assert set(answer) == {"accepted", "rejected", "errors"}, answer
        assert len(answer["errors"]) == answer["rejected"], answer


def seed_corpus(folder: Path) -> int:
    """Write real request bodies (events, batches, near misses) as inputs; how many."""
    from tests.support.load import make_event

    folder.mkdir(parents=True, exist_ok=True)
    one = make_event()
    failed = make_event(status="failure", error_code="invalid_manifest")
    bodies = [
        json.dumps(one),
        json.dumps([one, failed]),
        json.dumps([make_event(command=f"cmd{i}", duration_ms=i) for i in range(20)]),
        json.dumps([one, {**one, "hostname": "h"}, "x", None, [1, [2]], {**one, "status": "x"}]),
        json.dumps({**one, "duration_ms": 1.5}),
        json.dumps([]),
    ]
    inputs = [bytes([index]) + body.encode() for index in range(3) for body in bodies[:3]]
    inputs += [bytes([0]) + body.encode() for body in bodies[3:]]
    inputs += [bytes([3]) + bodies[1].encode(), bytes([8]) + b"key-1\n" + bodies[0].encode()]
    inputs += [
        bytes([9]) + b"since=7d&command=build",
        bytes([9]) + b"from=2025-01-01&to=2025-01-31&interactive=true",
        bytes([10]) + b"sections=overview,errors&os_arch=linux-x86_64",
        bytes([10]) + b"since=4w&cli_version=0.2.1",
    ]
    for index, data in enumerate(inputs):
        (folder / f"seed-{index:02d}").write_bytes(data)
    return len(inputs)


def main(argv: list[str]) -> None:
    if argv[1:2] == ["--seed-corpus"]:
        print(f"{seed_corpus(Path(argv[2]))} seed inputs in {argv[2]}")
        return
    with tempfile.TemporaryDirectory(prefix="candor-fuzz-") as folder:
        harness = Harness(Path(folder))
        atheris.Setup(argv, lambda data: one_input(harness, data))
        atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
