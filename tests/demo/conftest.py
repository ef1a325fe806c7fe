"""Fixtures for the demo tests: a project directory holding a valid manifest."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

MANIFEST = 'name = "hello-web"\nversion = "1.4.0"\n'


@pytest.fixture
def project(home: Path) -> Path:
    """~/hello-web with a valid your-platform.toml: where `build` and `deploy` succeed."""
    path = home / "hello-web"
    path.mkdir()
    (path / "your-platform.toml").write_text(MANIFEST)
    return path
