"""Candor: honest, anonymous usage telemetry for command-line tools."""

__version__ = "0.1.0"
