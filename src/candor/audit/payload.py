"""What a request carries: its body decoded into events, and each event checked on the schema.

A body may be gzip (by header or magic bytes), a JSON object, a JSON array of objects, or
newline-delimited JSON objects. Anything else is evidence in itself: a request the audit cannot
read is a request whose contents nobody can vouch for.
"""

from __future__ import annotations

import gzip
import json
import zlib
from typing import TYPE_CHECKING, Any

import jsonschema

if TYPE_CHECKING:
    from candor.audit.endpoint import Request

UUID_FIELD = "installation_id"


class Decoded:
    """The events of one request, or why it could not be read."""

    __slots__ = ("events", "problem")

    def __init__(self, events: list[Any], problem: str | None = None) -> None:
        self.events = events
        self.problem = problem


def decode(request: Request) -> Decoded:
    body = request.body
    encoding = (request.header("Content-Encoding") or "").lower()
    try:
        if "gzip" in encoding or body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        elif "deflate" in encoding:
            body = zlib.decompress(body)
    except (OSError, EOFError, zlib.error) as error:
        return Decoded([], f"body says {encoding or 'gzip'} but does not decode: {error}")
    if not body.strip():
        return Decoded([], "empty body" if request.method != "GET" else None)
    text = body.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            return Decoded([], f"body is not JSON: {text[:120]!r}")
    events = value if isinstance(value, list) else [value]
    return Decoded(events)


class SchemaCheck:
    """Validate events on a JSON Schema, and list fields the schema does not name."""

    def __init__(self, schema: dict[str, Any]) -> None:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        self._validator = validator_class(schema)
        properties = schema.get("properties")
        self.fields = set(properties) if isinstance(properties, dict) else set()

    def problems(self, event: Any) -> list[str]:
        found = []
        if isinstance(event, dict):
            extra = sorted(set(event) - self.fields)
            if extra:
                found.append(f"fields the schema does not list: {', '.join(extra)}")
        for error in self._validator.iter_errors(event):
            where = "/".join(str(part) for part in error.absolute_path) or "event"
            found.append(f"{where}: {error.message[:200]}")
        return found


def load_schema(path: str | None) -> dict[str, Any]:
    """The schema of `--schema FILE`, or Candor's shipped schema.json (the nine fields)."""
    if path is None:
        from importlib.resources import files

        text = files("candor").joinpath("schema.json").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    schema = json.loads(text)
    if not isinstance(schema, dict):
        raise ValueError("a JSON Schema must be a JSON object")
    SchemaCheck(schema)  # raises jsonschema's SchemaError for an invalid schema
    return schema
