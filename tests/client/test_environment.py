"""os_arch uses Rust's names; is_interactive needs two terminals and no CI."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

from candor.client.recording import arch_name, in_ci, is_interactive, os_arch, os_name
from candor.schema import CI_VARIABLES, FIELDS_BY_NAME, field_problem


@pytest.mark.parametrize(
    ("platform", "machine", "expected"),
    [
        ("linux", "x86_64", "linux-x86_64"),
        ("linux", "aarch64", "linux-aarch64"),
        ("linux", "armv7l", "linux-arm"),
        ("linux", "i686", "linux-x86"),
        ("linux", "ppc64le", "linux-powerpc64"),
        ("linux", "riscv64", "linux-riscv64"),
        ("darwin", "arm64", "macos-aarch64"),
        ("darwin", "x86_64", "macos-x86_64"),
        ("win32", "AMD64", "windows-x86_64"),
        ("win32", "ARM64", "windows-aarch64"),
        ("freebsd14", "amd64", "freebsd-x86_64"),
        ("sunos5", "i86pc", "solaris-x86"),
        ("haiku", "x86_64", "unknown-x86_64"),
        ("linux", "vax", "linux-unknown"),
    ],
)
def test_os_arch_uses_rust_names(platform: str, machine: str, expected: str) -> None:
    """sys.platform and uname's machine map to Rust's std::env::consts names, else "unknown"."""
    assert os_arch(platform, machine) == expected
    assert field_problem(FIELDS_BY_NAME["os_arch"], expected) is None


def test_os_arch_of_this_machine_is_valid() -> None:
    """The machine running the tests gets a known, schema-valid os_arch."""
    value = os_arch()
    assert field_problem(FIELDS_BY_NAME["os_arch"], value) is None
    assert os_name() != "unknown" and arch_name(os.uname().machine) != "unknown"


@pytest.fixture
def terminal() -> Iterator[object]:
    """A real terminal: the slave side of a pseudo-terminal, opened as a file."""
    master, slave = os.openpty()
    stream = os.fdopen(slave, "r")
    yield stream
    stream.close()
    os.close(master)


def test_interactive_needs_both_streams_on_a_terminal(terminal: object) -> None:
    """True only when stdin and stdout are both terminals."""
    assert is_interactive({}, terminal, terminal) is True
    assert is_interactive({}, terminal, io.StringIO()) is False
    assert is_interactive({}, io.StringIO(), terminal) is False
    assert is_interactive({}, None, None) is False


@pytest.mark.parametrize("name", CI_VARIABLES)
def test_any_ci_variable_makes_it_non_interactive(terminal: object, name: str) -> None:
    """Any CI variable with a non-empty value means a script, even on a terminal."""
    assert is_interactive({name: "true"}, terminal, terminal) is False
    assert is_interactive({name: ""}, terminal, terminal) is True
    assert in_ci({name: "1"})


def test_closed_stream_is_not_a_terminal(terminal: object) -> None:
    """A closed stream counts as no terminal instead of raising."""
    closed = io.StringIO()
    closed.close()
    assert is_interactive({}, closed, terminal) is False
