"""`pan`, the command-line client of Pan (docs/cli.md)."""

__version__ = "0.1.0"
