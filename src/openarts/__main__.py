"""`python -m openarts` is the `openarts` command."""

from openarts.cli.main import app

app()
