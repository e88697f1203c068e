"""The CLI driven as a user drives it: `openarts …` in a process of its own (forked from a
runner that imported the CLI once: see openarts.testing.cli_runner), against a real
server, with a config file of the test's own."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from openarts.testing.cli_runner import CliRunner
from openarts.testing.server import ServerProcess

ADMIN_PASSWORD = "cli-admin-pass-1"


@dataclass
class Cli:
    server: ServerProcess
    config: Path
    runner: CliRunner

    def environment(self, env: dict[str, str] | None = None) -> dict[str, str]:
        """The server's home (so the local admin's keys are found when nothing else says
        who to be) and this test's config file, with ``env`` over them."""
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("OPENARTS_")
        }
        environment.update(
            {"OPENARTS_HOME": str(self.server.home), "OPENARTS_CONFIG": str(self.config)}
        )
        environment.update(env or {})
        return environment

    def run(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`openarts ARGS`, in this test's environment."""
        return self.runner.run(list(args), env=self.environment(env), stdin=stdin, timeout=180)

    def in_terminal(self, *args: str, timeout_s: float = 120) -> tuple[int, str]:
        """`openarts ARGS` on a terminal of its own (a pseudo-terminal for its standard
        input, output and error): its exit status and everything it drew there."""
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [sys.executable, "-m", "openarts", *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=self.environment({"TERM": "xterm-256color", "COLUMNS": "120"}),
        )
        os.close(follower)
        drawn = bytearray()
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([leader], [], [], 0.2)
                try:
                    chunk = os.read(leader, 65536) if ready else b""
                except OSError:  # the terminal's other side closed: the command ended
                    break
                if ready and not chunk:
                    break
                drawn += chunk
            else:
                raise AssertionError(f"openarts {' '.join(args)}: no end in {timeout_s} s")
            return process.wait(timeout=30), drawn.decode("utf-8", errors="replace")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            os.close(leader)

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


T = TypeVar("T")


def until(probe: Callable[[], T | None], what: str, timeout_s: float = 90.0) -> T:
    """``probe()`` once it is truthy, polled until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
