"""Privacy as a property: whatever a user types or has in their environment, no piece of it
reaches the event, and the event always has exactly the schema's nine keys.

Generated values are secrets a user could have: paths, e-mail addresses, API tokens,
hostnames, KEY=VALUE pairs, arbitrary text, and environment variables (names and values).
Every component of each one carries a *tag*: 12 hex digits derived by hashing the value's
parts, so no event can contain it by chance (unlike "000000", which the fixed installation ID
of capture mode contains). A leak of the whole value, or of any piece split off it at "/",
"@", "=", "." or a space, carries a tag and is caught. Argv also mixes in your-cli's real
command and option names, so values land where commands are resolved.

Most examples run in-process (CliRunner + capture_events); a bounded number run the real
`your-cli` with YOUR_PLATFORM_TELEMETRY_DEBUG=1, which prints the exact JSON it would send.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from candor.demo.your_cli import cli, create_telemetry
from candor.integrations.click import instrument
from candor.schema import FIELD_NAMES, validate_event
from candor.testing import capture_events
from tests.support.cli import DEBUG_VARIABLE, debug_events, run_cli

if TYPE_CHECKING:
    from pathlib import Path

IN_PROCESS_EXAMPLES = 300
SUBPROCESS_EXAMPLES = 25  # each starts Python: about 60 ms on an idle machine
TAG_LENGTH = 12
MANIFEST = 'name = "hello-web"\nversion = "1.4.0"\n'

# your-cli's own vocabulary, mixed into argv so secrets sit where commands are resolved.
DECLARED_TOKENS = (
    "init", "build", "deploy", "db", "migrate", "info", "telemetry", "status",
    "--env", "--force", "--dry-run", "--name", "--json", "production", "staging",
)  # fmt: skip
RECORDABLE = {"init", "build", "deploy", "db", "db migrate", "info", "your-cli"}

# Text a user could type: any printable character but NUL and lone surrogates (neither can be
# passed in argv or the environment).
free_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
words = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)


def tag(*parts: object) -> str:
    """A 12-hex-digit marker derived from `parts`: unique per value, never in an event by chance."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:TAG_LENGTH]


@st.composite
def secrets(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A secret-looking value and the tags of its components."""
    kind = draw(st.sampled_from(["path", "email", "token", "host", "pair", "text", "word"]))
    a, b, c = draw(words), draw(words), draw(free_text)
    t1, t2, t3 = tag(kind, a, b, c, 1), tag(kind, a, b, c, 2), tag(kind, a, b, c, 3)
    value = {
        "path": f"/home/{a}{t1}/projects/{b}{t2}/.env{t3}",
        "email": f"{a}.{t1}@{b}{t2}.example.com",
        "token": f"ghp_{t1}{t2}{t3}",
        "host": f"{a}-{t1}.{b}{t2}.internal",
        "pair": f"{a.upper()}_{t1.upper()}={c}{t2}",
        "text": f"{c}{t1} {c}{t2}",
        "word": f"{a}{t1}",  # a valid-looking command word: the pattern would accept it
    }[kind]
    return value, [t1, t2, t3]


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], dict[str, str], list[str]]:
    """argv mixing secrets and real names, an environment of secrets, and every tag used."""
    drawn = draw(st.lists(secrets(), min_size=1, max_size=4))
    names = draw(st.lists(st.sampled_from(DECLARED_TOKENS), max_size=4))
    argv = draw(st.permutations([value for value, _ in drawn] + names))
    tags = [t for _, ts in drawn for t in ts]
    environ: dict[str, str] = {}
    for index, (value, value_tags) in enumerate(draw(st.lists(secrets(), max_size=3))):
        name_tag = tag("env", value, index)
        environ[f"SECRET_{name_tag.upper()}"] = value
        tags += [*value_tags, name_tag]
    return argv, environ, tags + [value for value, _ in drawn] + list(environ.values())


def check_event_keeps_secrets(event: dict[str, object], secrets_and_tags: list[str]) -> None:
    """The event is valid, has exactly the nine keys and contains no generated value or tag."""
    assert tuple(event) == FIELD_NAMES
    assert validate_event(event) == []
    assert event["command"] in RECORDABLE
    serialized = json.dumps(event, ensure_ascii=False).lower()
    for secret in secrets_and_tags:
        if len(secret) >= 6:  # every generated value carries a 12-digit tag
            assert secret.lower() not in serialized, f"{secret!r} leaked into {serialized}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A HOME and a project directory with a valid manifest, shared by a test's examples."""
    root = tmp_path_factory.mktemp("privacy")
    home, project = root / "home", root / "project"
    home.mkdir()
    project.mkdir()
    (project / "your-platform.toml").write_text(MANIFEST)
    return home, project


# clean_environ (autouse, function-scoped) scrubs the environment once per test; sharing that
# across examples is what we want.
@settings(
    max_examples=IN_PROCESS_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(command_lines())
def test_no_typed_or_environment_value_reaches_an_event(
    workspace: tuple[Path, Path], case: tuple[list[str], dict[str, str], list[str]]
) -> None:
    """In-process: for generated argv and environments the event holds none of their values."""
    argv, environ, secrets_and_tags = case
    home, project = workspace
    (project / "your-platform.toml").write_text(MANIFEST)  # `init --force` may replace it
    telemetry = create_telemetry(environ=environ, home=str(home))
    instrument(cli, telemetry)
    with contextlib.chdir(project), capture_events(telemetry) as events:
        result = CliRunner().invoke(cli, argv, env=environ, prog_name="your-cli")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert len(events) <= 1
    for event in events:
        check_event_keeps_secrets(event, secrets_and_tags)


@settings(
    max_examples=SUBPROCESS_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(command_lines())
def test_the_real_cli_prints_no_secret_in_the_event_it_would_send(
    workspace: tuple[Path, Path], case: tuple[list[str], dict[str, str], list[str]]
) -> None:
    """Through the real your-cli (debug mode): no traceback, and no secret in the JSON event."""
    argv, environ, secrets_and_tags = case
    home, project = workspace
    (project / "your-platform.toml").write_text(MANIFEST)
    result = run_cli(*argv, home=home, cwd=project, env={**environ, DEBUG_VARIABLE: "1"})
    assert "Traceback" not in result.stderr
    events = debug_events(result.stderr)
    assert len(events) <= 1
    for event in events:
        check_event_keeps_secrets(event, secrets_and_tags)
