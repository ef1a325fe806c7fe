"""`candor publish` on a known data set with small groups: the floor, the folder, the errors."""

from __future__ import annotations

import csv
import json
import re
from typing import TYPE_CHECKING, Any

import pytest

from candor.server.http.dashboard import CHART_LIBRARY, STATIC
from tests.cli.conftest import run_candor
from tests.publish.conftest import publish, write_store
from tests.publish.dataset import K, installation_id
from tests.publish.truth import check_figures, groups

if TYPE_CHECKING:
    from pathlib import Path

    from tests.publish.truth import Raw

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_no_published_cell_rests_on_fewer_than_k_installations(
    published: tuple[Path, dict[str, Any]], known: list[Raw]
) -> None:
    """Every shown figure is true and ≥ K; small groups, and one complement each, are hidden."""
    _, figures = published
    hidden = check_figures(known, figures, K)
    assert hidden == {
        "commands": {
            "deploy",
            "lint",
            "init",
        },  # deploy (11) hidden so lint + init (7) are not alone
        "platforms": {"macos-aarch64", "windows-x86_64"},  # together 10: no complement needed
        "versions": {"1.0.0", "1.2.0"},  # 1.2.0 (3) would be total − the rest
    }
    assert [row["name"] for row in figures["errors"]["rows"]] == ["compile_error"]
    releases = {(r["command"], r["cli_version"]) for r in figures["durations_by_release"]["rows"]}
    assert ("build", "1.1.0") in releases
    assert ("build", "1.2.0") not in releases  # 3 installations
    weeks = figures["weekly_active"]["rows"]
    assert any(w["installations"] is None for w in weeks)  # the week of 40 days ago: 3 active
    assert any(w["installations"] is not None for w in weeks)


def test_no_hidden_cell_can_be_derived_by_subtraction(
    published: tuple[Path, dict[str, Any]], known: list[Raw]
) -> None:
    """Total minus the shown cells gives "other" only, which rests on ≥ K installations."""
    _, figures = published
    total = figures["overview"]["events"]
    for table, column in (("commands", 1), ("platforms", 3)):
        truth = groups(known, lambda r, c=column: r[c])
        shown = {row["name"] for row in figures[table]["rows"]}
        derived = total - sum(row["events"] for row in figures[table]["rows"])
        assert derived == figures[table]["other"]["events"]
        rest = set(truth) - shown
        assert derived == sum(truth[name].events for name in rest)
        assert len(rest) >= 2  # never a single hidden cell…
        assert len(set().union(*(truth[n].installations for n in rest))) >= K  # …nor a small sum
        small = {name for name, group in truth.items() if len(group.installations) < K}
        assert all(truth[n].events != derived for n in small)


def test_the_csv_files_hold_the_same_figures(published: tuple[Path, dict[str, Any]]) -> None:
    """commands.csv and versions.csv: the shown rows, then "(other)" with only what is known."""
    out, figures = published
    with (out / "commands.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [r["command"] for r in rows] == [
        *(row["name"] for row in figures["commands"]["rows"]),
        "(other)",
    ]
    assert rows[-1]["installations"] == ""
    assert int(rows[-1]["events"]) == figures["commands"]["other"]["events"]
    with (out / "versions.csv").open() as file:
        versions = list(csv.DictReader(file))
    assert versions == [
        {"cli_version": "1.1.0", "installations": "20", "installation_share": "0.8"},
        {"cli_version": "(other)", "installations": "", "installation_share": ""},
    ]
    with (out / "weekly_active.csv").open() as file:
        weeks = list(csv.DictReader(file))
    assert {w["installations"] for w in weeks if w["installations"] == ""} == {""}


def test_nothing_per_installation_and_nothing_from_elsewhere(
    published: tuple[Path, dict[str, Any]],
) -> None:
    """No installation ID (nor any UUID) in any file; the page loads nothing from another site."""
    out, _ = published
    ids = {installation_id(n) for n in range(25)}
    for path in out.iterdir():
        text = path.read_text(errors="replace")
        assert not ids & set(UUID.findall(text)), path.name
    page = (out / "index.html").read_text()
    assert '<meta http-equiv="Content-Security-Policy"' in page
    assert "default-src &#x27;none&#x27;" in page
    for name in ("index.html", "report.js", "report.css"):
        assert not re.search(r"(https?:)?//[a-z]", (out / name).read_text()), name
    assert (out / CHART_LIBRARY).read_bytes() == (STATIC / CHART_LIBRARY).read_bytes()


def test_the_page_states_k_and_the_rule(published: tuple[Path, dict[str, Any]]) -> None:
    """index.html says K and how small groups are handled; data.json carries the same rule."""
    out, figures = published
    page = (out / "index.html").read_text()
    assert f'K = <span id="k">{K}</span>' in page
    assert "at least 10 distinct installations" in page
    assert "other" in figures["rule"] and "subtracting" in figures["rule"]


def test_too_few_installations_publish_nothing(tmp_path: Path, known: list[Raw]) -> None:
    """With fewer than K installations in all, even the total is withheld."""
    few = [row for row in known if row[0] in {installation_id(n) for n in range(4)}]
    figures = publish(write_store(tmp_path / "few.duckdb", few), tmp_path / "out")
    check_figures(few, figures, 10)
    assert figures["withheld"] is True and figures["overview"] is None
    assert "nothing is published" in (tmp_path / "out" / "index.html").read_text()
    assert not (tmp_path / "out" / "commands.csv").exists()


def test_publishing_again_replaces_an_earlier_report(
    published: tuple[Path, dict[str, Any]], known_store: Path
) -> None:
    """An earlier report's folder is updated in place; a file the tool did not write stays."""
    out, _ = published
    (out / "CNAME").write_text("stats.example.org\n")
    figures = publish(known_store, out, "--min-installations", "3")
    assert figures["min_installations"] == 3
    assert (out / "CNAME").read_text() == "stats.example.org\n"
    assert json.loads((out / "data.json").read_text())["files"] == sorted(
        p.name for p in out.iterdir() if p.name != "CNAME"
    )


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--min-installations", "1"], 2, "--min-installations must be at least 2"),
        (["--since", "ninety"], 2, "since 'ninety': use a whole number and a unit"),
        (["--store", "missing.duckdb"], 1, "no store at"),
    ],
)
def test_bad_options_are_one_line_errors(
    known_store: Path, tmp_path: Path, args: list[str], status: int, message: str
) -> None:
    """A bad option: its exit status, one line on stderr, no traceback, no folder written."""
    result = run_candor("publish", "--store", str(known_store), "--out", str(tmp_path / "o"),
                        *args, cwd=tmp_path)  # fmt: skip
    assert result.returncode == status
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_folder_of_other_files_is_refused(known_store: Path, tmp_path: Path) -> None:
    """A non-empty folder that is no earlier report, or a file: refused, left untouched."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("someone's page")
    result = run_candor("publish", "--store", str(known_store), "--out", str(folder))
    assert result.returncode == 1
    assert "not empty and holds no earlier `candor publish` report" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert [p.name for p in folder.iterdir()] == ["index.html"]
    assert (folder / "index.html").read_text() == "someone's page"
    result = run_candor("publish", "--store", str(known_store), "--out", str(folder / "index.html"))
    assert result.returncode == 1
    assert "exists and is not a folder" in result.stderr
    assert not list(tmp_path.glob(".candor-publish-*"))  # no staging folder left behind


def test_an_empty_folder_or_a_link_to_one_is_used(known_store: Path, tmp_path: Path) -> None:
    """An existing empty folder, reached through a symbolic link, gets the report in place."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    publish(known_store, tmp_path / "link")
    assert (tmp_path / "link").is_symlink()
    names = sorted(p.name for p in real.iterdir())
    assert names == json.loads((real / "data.json").read_text())["files"]
