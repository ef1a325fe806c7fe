"""The benchmark's baseline: a tiny Click CLI like `your-cli`, with no telemetry at all.

`bench/client_overhead.py` runs `python bench/no_telemetry_cli.py info` as the zero against
which the demo CLI's telemetry states are measured.
"""

from __future__ import annotations

import sys

import click


@click.group()
@click.version_option("0.2.1", prog_name="your-cli")
def cli() -> None:
    """A demo CLI without telemetry."""


@click.command()
def info() -> None:
    """Print the version and the platform."""
    click.echo("your-cli 0.2.1")
    click.echo("platform: your-platform")


cli.add_command(info)

if __name__ == "__main__":
    sys.exit(cli())
