"""Write the public report's folder: index.html, its script, styles and chart library, data.json,
one CSV per table.

The folder is either new (or empty), or a previous output of `candor publish`, recognised by its
data.json: anything else is refused, so a mistyped --out never mixes the report into, or
overwrites files of, some other folder. Files are written into a staging folder and moved into
place, so a failure midway leaves the previous report whole; files this tool did not
write (a host's CNAME, say) are left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from candor.analytics.publish.figures import GENERATOR
from candor.analytics.publish.page import SCRIPT, STYLES, render
from candor.analytics.publish.tables import tables, to_csv

if TYPE_CHECKING:
    from collections.abc import Mapping

ASSETS = Path(__file__).parent / "assets"
DATA = "data.json"


class SiteError(Exception):
    """The report cannot be written there; the message is one readable line."""


def previous_files(directory: Path) -> list[str] | None:
    """The files a previous `candor publish` wrote in `directory`, or None if it was not one."""
    try:
        data = json.loads((directory / DATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR:
        return None
    files = data.get("files")
    return (
        [f for f in files if isinstance(f, str) and "/" not in f] if isinstance(files, list) else []
    )


def check_target(directory: Path) -> list[str]:
    """Refuse a target that is neither new, nor empty, nor a previous report; its old files."""
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise SiteError(f"{directory} exists and is not a folder")
    if not any(directory.iterdir()):
        return []
    previous = previous_files(directory)
    if previous is None:
        raise SiteError(
            f"{directory} is not empty and holds no earlier `candor publish` report; "
            "give a new or empty folder"
        )
    return previous


def contents(figures: dict[str, Any], title: str, chart_library: Path) -> dict[str, bytes]:
    """Every file of the report, by name."""
    files: dict[str, bytes] = {
        chart_library.name: chart_library.read_bytes(),
        SCRIPT: (ASSETS / SCRIPT).read_bytes(),
        STYLES: (ASSETS / STYLES).read_bytes(),
        "index.html": render(figures, title, chart_library.name).encode(),
    }
    license_file = chart_library.with_name(chart_library.name.split(".umd")[0] + ".LICENSE.md")
    if license_file.exists():
        files[license_file.name] = license_file.read_bytes()
    for table in tables(figures):
        files[f"{table.name}.csv"] = to_csv(table).encode()
    listed = {**figures, "files": sorted([*files, DATA])}
    files[DATA] = (json.dumps(listed, indent=2, ensure_ascii=False) + "\n").encode()
    return files


def _stage(directory: Path, files: Mapping[str, bytes]) -> Path:
    # Inside an existing folder (it may be a link to another file system), else beside it.
    where = directory if directory.is_dir() else directory.parent
    staging = Path(tempfile.mkdtemp(prefix=".candor-publish-", dir=where))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would hide the report from a web server
    for name, data in files.items():
        (staging / name).write_bytes(data)
    return staging


def write_site(
    directory: Path, figures: dict[str, Any], title: str, chart_library: Path
) -> list[str]:
    """Write the report into `directory`; returns the names of the files written."""
    previous = check_target(directory)
    files = contents(figures, title, chart_library)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = _stage(directory, files)
    except OSError as error:
        raise SiteError(f"cannot write {directory}: {error.strerror or error}") from None
    try:
        if not directory.exists():
            staging.rename(directory)
        else:
            # data.json first: from then on the folder is recognised as a report again.
            for name in sorted(files, key=lambda n: n != DATA):
                os.replace(staging / name, directory / name)
            for name in set(previous) - set(files):
                with contextlib.suppress(FileNotFoundError):
                    (directory / name).unlink()
    except OSError as error:
        raise SiteError(f"cannot write {directory}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(files)
