"""`your-cli`: the demo CLI of the fictional Your Platform, instrumented with Candor.

It is the example the README walks through: a small Click program whose every command is
recorded by two lines in `main()` (`Telemetry(...)` and `instrument(cli, telemetry)`), with its
own error codes declared for the failures worth counting. Nothing here touches the network:
`deploy` describes what it would do, `build` packs the project into ./dist/.

Candor is imported inside `create_telemetry()` and `main()`, not at the top: the module is then
the plain Click program until `main()` runs, and the client benchmark's baseline runs exactly
it without candor (bench/no_telemetry_cli.py), so that the figures show what telemetry adds
and nothing else. An instrumented run imports the same modules either way.

    your-cli init            write a starter your-platform.toml here
    your-cli build           check your-platform.toml and pack the project into dist/
    your-cli deploy TARGET   deploy to TARGET (e.g. staging), --env KEY=VALUE, --dry-run
    your-cli db migrate      apply the project's database migrations
    your-cli info            print the version and platform (the benchmark's trivial command)
    your-cli telemetry ...   enable, disable, status [--json]
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Mapping

    from candor.client import Telemetry

VERSION = "0.2.1"
CLI_NAME = "your-cli"
PLATFORM = "your-platform"
ENDPOINT = "https://telemetry.your-platform.com/v1/event"
POLICY_URL = "https://your-platform.com/telemetry"

MANIFEST = "your-platform.toml"
REQUIRED_KEYS = ("name", "version")
DEFAULT_OUTPUT = "dist"
PROTECTED_TARGETS = ("production", "prod")  # deploying there needs --force
# A project name becomes part of URLs and file names: keep it to a DNS-label-like slug.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,62}")
ENV_KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MIGRATIONS = ("0001_initial", "0002_add_users", "0003_index_users_email")

STARTER_MANIFEST = """\
# {manifest}: read by `your-cli build` and `your-cli deploy`.
name = "{name}"
version = "0.1.0"

[build]
# Where `your-cli build` writes the package, relative to this file.
output = "{output}"
"""


class ProjectError(click.ClickException):
    """A problem with the project in the current directory (shown as one line, exit 1)."""


class ManifestNotFound(ProjectError):
    """There is no your-platform.toml here."""


class InvalidManifest(ProjectError):
    """your-platform.toml is not valid TOML, or lacks a required key."""


class ManifestExists(ProjectError):
    """`init` would overwrite an existing manifest."""


class ConfirmationRequired(ProjectError):
    """A production deploy without --force."""


# What the telemetry reports for each failure: a code, never the message (it holds paths).
ERROR_CODES: dict[type[BaseException], str] = {
    ManifestNotFound: "manifest_not_found",
    InvalidManifest: "invalid_manifest",
    ManifestExists: "manifest_exists",
    ConfirmationRequired: "confirmation_required",
}


def create_telemetry(
    environ: Mapping[str, str] | None = None, home: str | None = None
) -> Telemetry:
    """your-cli's Telemetry; `environ` and `home` default to the process's own (tests pass them)."""
    from candor.client import Telemetry

    return Telemetry(
        platform=PLATFORM,
        cli_name=CLI_NAME,
        cli_version=VERSION,
        endpoint=ENDPOINT,
        policy_url=POLICY_URL,
        error_codes=ERROR_CODES,
        environ=environ,
        home=home,
    )


def load_manifest() -> dict[str, Any]:
    """The manifest of the current directory, checked for the keys every command needs."""
    import tomllib

    try:
        with open(MANIFEST, "rb") as file:
            manifest = tomllib.load(file)
    except FileNotFoundError:
        raise ManifestNotFound(
            f"no {MANIFEST} in this directory (run `{CLI_NAME} init` to create one)"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidManifest(f"{MANIFEST} is not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidManifest(f"cannot read {MANIFEST}: {error}") from None
    for key in REQUIRED_KEYS:
        if key not in manifest:
            raise InvalidManifest(f"{MANIFEST} lacks the required key {key!r}")
        if not isinstance(manifest[key], str) or not manifest[key].strip():
            raise InvalidManifest(f"{MANIFEST}: {key!r} must be a non-empty string")
    return manifest


@click.group(name=CLI_NAME, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name=CLI_NAME)
def cli() -> None:
    """Build and deploy apps on Your Platform (a Candor demo: nothing leaves this machine
    but anonymous telemetry; see `your-cli telemetry status`)."""


@cli.command()
@click.option("--name", help="Project name (default: this directory's name).")
@click.option("--force", is_flag=True, help=f"Overwrite an existing {MANIFEST}.")
def init(name: str | None, force: bool) -> None:
    """Write a starter your-platform.toml in the current directory."""
    if name is None:
        slug = re.sub(r"[^a-z0-9-]+", "-", os.path.basename(os.getcwd()).lower()).strip("-")
        name = slug if NAME_PATTERN.fullmatch(slug) else "my-app"
    elif not NAME_PATTERN.fullmatch(name):
        raise click.BadParameter(
            "use lower-case letters, digits and '-', starting with a letter", param_hint="--name"
        )
    if os.path.exists(MANIFEST) and not force:
        raise ManifestExists(f"{MANIFEST} already exists (use --force to overwrite it)")
    with open(MANIFEST, "w", encoding="utf-8") as file:
        file.write(STARTER_MANIFEST.format(manifest=MANIFEST, name=name, output=DEFAULT_OUTPUT))
    click.echo(f"Created {MANIFEST} for {name} 0.1.0.")
    click.echo(f"Next: `{CLI_NAME} build`, then `{CLI_NAME} deploy staging`.")


@cli.command()
def build() -> None:
    """Check your-platform.toml and pack the project into its output directory."""
    import tarfile

    manifest = load_manifest()
    name, version = manifest["name"], manifest["version"]
    output = manifest.get("build", {}).get("output", DEFAULT_OUTPUT)
    if not isinstance(output, str) or not output or os.path.isabs(output) or ".." in output:
        raise InvalidManifest(f"{MANIFEST}: build.output must be a relative directory")
    click.echo(f"Building {name} {version}")
    files = _project_files(output)
    os.makedirs(output, exist_ok=True)
    archive = os.path.join(output, f"{name}-{version}.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        for path in files:
            tar.add(path, arcname=f"{name}-{version}/{path}")
    size = os.path.getsize(archive)
    click.echo(f"  packed {len(files)} file{'s' * (len(files) != 1)} ({_size(size)})")
    click.echo(f"Built {archive}")


@cli.command()
@click.argument("target")
@click.option(
    "--env",
    "variables",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set an environment variable for the release (repeatable).",
)
@click.option("--force", is_flag=True, help="Allow a production deploy.")
@click.option("--dry-run", is_flag=True, help="Show what would change, change nothing.")
def deploy(target: str, variables: tuple[str, ...], force: bool, dry_run: bool) -> None:
    """Deploy the project in this directory to TARGET (e.g. staging, production)."""
    names = []
    for item in variables:
        key, sep, _ = item.partition("=")
        if not sep or not ENV_KEY_PATTERN.fullmatch(key):
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--env")
        names.append(key)
    manifest = load_manifest()
    name, version = manifest["name"], manifest["version"]
    if target.lower() in PROTECTED_TARGETS and not (force or dry_run):
        raise ConfirmationRequired(
            f"deploying to {target} needs --force (or --dry-run to preview it)"
        )
    mode = " (dry run: nothing will change)" if dry_run else ""
    click.echo(f"Deploying {name} {version} to {target}{mode}")
    if names:
        click.echo(f"  environment: {len(names)} variable(s): {', '.join(sorted(set(names)))}")
    click.echo(f"  release: {name}@{version}")
    url = f"https://{name}-{target.lower()}.your-platform.app"
    if dry_run:
        click.echo(f"Dry run complete; a deploy would serve {url}")
    else:
        click.echo(f"Deployed: {url}")


@cli.group()
def db() -> None:
    """Manage the project's database."""


@db.command()
def migrate() -> None:
    """Apply the project's pending database migrations."""
    for migration in MIGRATIONS:
        click.echo(f"  applied {migration}")
    click.echo(f"Database up to date ({len(MIGRATIONS)} migrations applied).")


@cli.command()
def info() -> None:
    """Print the version and the platform."""
    click.echo(f"{CLI_NAME} {VERSION}")
    click.echo(f"platform: {PLATFORM}")


def _project_files(output: str) -> list[str]:
    """Files to pack: everything below here but hidden entries and the output directory."""
    output = os.path.normpath(output)
    found = []
    for directory, subdirs, files in os.walk("."):
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not d.startswith(".") and os.path.normpath(os.path.join(directory, d)) != output
        )
        found += [
            os.path.normpath(os.path.join(directory, f)) for f in sorted(files) if f[0] != "."
        ]
    return found


def _size(count: int) -> str:
    return f"{count} B" if count < 1024 else f"{count / 1024:.1f} KiB"


def main(argv: list[str] | None = None) -> None:
    """The `your-cli` console script."""
    from candor.integrations.click import instrument

    instrument(cli, create_telemetry())
    cli.main(args=argv, prog_name=CLI_NAME)
