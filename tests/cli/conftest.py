"""The CLI driven as a user drives it: `openarts …` in a process of its own (forked from a
runner that imported the CLI once: see openarts.testing.cli_runner), against a real
server, with a config file of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from openarts.testing.cli_runner import CliRunner
from openarts.testing.server import ServerProcess

ADMIN_PASSWORD = "cli-admin-pass-1"


@dataclass
class Cli:
    server: ServerProcess
    config: Path
    runner: CliRunner

    def run(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`openarts ARGS` with the server's home (so the local admin's keys are found when
        nothing else says who to be) and this test's config file."""
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("OPENARTS_")
        }
        environment.update(
            {"OPENARTS_HOME": str(self.server.home), "OPENARTS_CONFIG": str(self.config)}
        )
        environment.update(env or {})
        return self.runner.run(list(args), env=environment, stdin=stdin, timeout=180)

    def ok(self, *args: str, **kwargs: Any) -> str:
        """Its standard output; a non-zero exit fails the test with what it said."""
        done = self.run(*args, **kwargs)
        assert done.returncode == 0, f"openarts {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.ok("--output", "json", *args, **kwargs))

    def fails(self, *args: str, code: int = 1, **kwargs: Any) -> str:
        """Its error output; it must exit with ``code``."""
        done = self.run(*args, **kwargs)
        assert done.returncode == code, f"exit {done.returncode}: {done.stdout}{done.stderr}"
        return done.stderr


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("cli")
    process = ServerProcess(root / "home", env={"OPENARTS_ADMIN_PASSWORD": ADMIN_PASSWORD})
    process.start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture(scope="session")
def cli_runner() -> Iterator[CliRunner]:
    runner = CliRunner()
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture
def cli(cli_server: ServerProcess, tmp_path: Path, cli_runner: CliRunner) -> Cli:
    return Cli(cli_server, tmp_path / "config.yaml", cli_runner)
