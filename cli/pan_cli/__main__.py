"""`python -m pan_cli` runs the `pan` command."""

from pan_cli.main import run

run()
