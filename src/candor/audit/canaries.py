"""Canaries: distinctive values planted where private data lives, searched for in every request.

Each canary is `canary` + a short kind + 8 random hex digits, lower-case letters and digits only:
a value that would fit the schema's `command` pattern, so that a program copying an argument
into its event is caught here (check 3) and not merely by the schema (check 2).

A request is searched raw and decoded: gzip, percent-encoding, JSON string escapes, and the
canary's own base64, hex, MD5, SHA-1 and SHA-256 forms (a hashed user or host name is still an
identifier).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import os
import urllib.parse
import zlib
from typing import Any

# Environment variables planted in every run: plain, and shaped like secrets.
ENV_CANARIES = (
    "PROJECT_NOTES", "API_TOKEN", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "DATABASE_URL",
)  # fmt: skip
FILE_NAME = "notes.txt"  # the file in the working directory whose contents are a canary


class Canaries:
    """The values of one audit: where each was planted, and how to find them again."""

    def __init__(self) -> None:
        def token(kind: str) -> str:
            return f"canary{kind}{os.urandom(4).hex()}"

        self.argument = token("arg")
        self.cwd = token("cwd")
        self.user = token("user")
        self.host = token("host")
        self.file = token("file")
        self.env = {name: token("env") for name in ENV_CANARIES}
        self.env["DATABASE_URL"] = f"postgres://admin:{self.env['DATABASE_URL']}@db.internal/app"

    def places(self) -> dict[str, str]:
        """place → the token to look for."""
        found = {
            "an argument": self.argument,
            "the working directory's path": self.cwd,
            "the user name ($USER, /etc/passwd, ~/.gitconfig)": self.user,
            "the host name": self.host,
            f"the contents of ./{FILE_NAME}": self.file,
        }
        for name, value in self.env.items():
            token = value.split(":")[2].split("@")[0] if "://" in value else value
            found[f"the environment variable {name}"] = token
        return found

    def variables(self) -> dict[str, str]:
        """The environment every run gets besides the audit's own variables."""
        return {**self.env, "USER": self.user, "LOGNAME": self.user}


def forms(token: str) -> dict[str, bytes]:
    """How a token may appear in a request: as is, and encoded or hashed."""
    raw = token.encode()
    found = {"as is": raw}
    for shift in range(3):  # base64 of the token at each alignment in a longer text
        piece = base64.b64encode(b"x" * shift + raw)[4 if shift else 0 :][:-4]
        found[f"base64 ({shift})"] = piece
    found["hex"] = raw.hex().encode()
    for name in ("md5", "sha1", "sha256"):
        found[name] = hashlib.new(name, raw).hexdigest().encode()
    return found


def decoded_views(data: bytes) -> list[tuple[str, bytes]]:
    """`data` and what it decodes to: gzip/zlib, percent-encoding, JSON escapes."""
    views = [("raw", data)]
    for label, decode in (("gzip", gzip.decompress), ("deflate", zlib.decompress)):
        with contextlib.suppress(OSError, EOFError, zlib.error):
            views.append((label, decode(data)))
    for label, view in list(views):
        text = view.decode("utf-8", "replace")
        unquoted = urllib.parse.unquote_plus(text)
        if unquoted != text:
            views.append((f"{label}, percent-decoded", unquoted.encode()))
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            continue
        views.append((f"{label}, JSON-decoded", json.dumps(parsed, ensure_ascii=False).encode()))
    return views


def find(places: dict[str, str], where: str, data: bytes) -> list[str]:
    """One line per canary found in `data` (a request's URL, headers or body)."""
    found = []
    views = decoded_views(data)
    for place, token in places.items():
        for form, needle in forms(token).items():
            hit = next((label for label, view in views if needle.lower() in view.lower()), None)
            if hit is not None:
                found.append(f"{where} carries {place} ({token}, {form}, {hit})")
                break
    return found
