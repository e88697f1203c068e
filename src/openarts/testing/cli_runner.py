"""`openarts …` commands for tests, each in a process of its own, without paying the CLI's
start-up each time.

A runner process imports the CLI once; every command is a child forked from it: a new
process with its own arguments, environment, working folder, standard input, output and
error, and exit status, which runs what `python -m openarts` runs. Only the imports and
Typer's building of the command tree are not done again (half a second a command; a suite
runs hundreds). Tests that start a server run `python -m openarts` itself, start-up
included.

    python -m openarts.testing.cli_runner   # one JSON request a line on stdin
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any


class CliRunner:
    """The test side: starts the runner on first use, one command at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def run(
        self,
        args: list[str],
        *,
        env: Mapping[str, str],
        stdin: str | None = None,
        cwd: Path | None = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        with self._lock, tempfile.TemporaryDirectory(prefix="openarts-cli-") as folder:
            files = {name: Path(folder) / name for name in ("stdin", "stdout", "stderr")}
            files["stdin"].write_text(stdin or "", "utf-8")
            request = {
                "args": args,
                "env": dict(env),
                "cwd": str(cwd or Path.cwd()),
                **{name: str(path) for name, path in files.items()},
            }
            code = self._ask(request, timeout)
            return subprocess.CompletedProcess(
                ["openarts", *args],
                code,
                files["stdout"].read_text("utf-8", errors="replace"),
                files["stderr"].read_text("utf-8", errors="replace"),
            )

    def _ask(self, request: dict[str, Any], timeout: float) -> int:
        process = self._started()
        assert process.stdin is not None and process.stdout is not None
        child = None
        try:
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
            child = int(self._answer(process.stdout, 60)["pid"])
            return int(self._answer(process.stdout, timeout)["code"])
        except BaseException:
            # Whatever went wrong, the next command must not read this one's answers: the
            # command and the runner go, and the next command starts a new runner.
            if child is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self._discard()
            raise

    def _discard(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    @staticmethod
    def _answer(stream: IO[bytes], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired("openarts", timeout)
            ready, _, _ = select.select([stream], [], [], left)
            if ready:
                line = stream.readline()
                if not line:
                    raise RuntimeError("the CLI runner ended")
                answer: dict[str, Any] = json.loads(line)
                return answer

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "openarts.testing.cli_runner"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # Unbuffered: a line read is exactly one answer, never the next one too
                # (which select() would then not see coming).
                bufsize=0,
            )
        return self._process

    def close(self) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._discard()
            self._process = None


_shared: CliRunner | None = None


def shared_runner() -> CliRunner:
    """One runner for this process, ended when it exits."""
    global _shared
    if _shared is None:
        _shared = CliRunner()
        atexit.register(_shared.close)
    return _shared


# -- the runner's side --------------------------------------------------------------------
def _command(request: dict[str, Any]) -> None:
    """In the forked child: become the command, run it, and end with its exit status."""
    code = 1
    try:
        for fd, name, flags in (
            (0, "stdin", os.O_RDONLY),
            (1, "stdout", os.O_WRONLY | os.O_TRUNC),
            (2, "stderr", os.O_WRONLY | os.O_TRUNC),
        ):
            opened = os.open(request[name], flags | (os.O_CREAT if fd else 0), 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        # Fresh streams over the new files: nothing the runner had buffered (its requests,
        # its answers) can reach the command's.
        sys.stdin = os.fdopen(0, "r", closefd=False)
        sys.stdout = os.fdopen(1, "w", closefd=False)
        sys.stderr = os.fdopen(2, "w", closefd=False)
        # After the streams: an error from here on reaches the command's own stderr.
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["openarts", *request["args"]]
        from openarts.cli.main import app

        app(prog_name="openarts")
        code = 0
    except SystemExit as ended:
        if ended.code is None or isinstance(ended.code, int):
            code = ended.code or 0
        else:
            print(ended.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    # Everything a command imports is imported once, here, before any fork; so is the
    # command tree Typer builds from the app's functions at every start (a tenth of a
    # second of reading signatures: the same tree each time).
    import boto3
    import httpx
    import typer.main

    # What the administration commands load when they run.
    import openarts.db.engine
    import openarts.services.bootstrap
    import openarts.services.identity  # noqa: F401
    from openarts.cli.main import app

    # What a client loads only when it is first made (its transport, HTTP/1.1), and the
    # S3 client `openarts obs` makes.
    httpx.Client().close()
    boto3.session.Session()
    built = typer.main.get_command(app)
    build = typer.main.get_command

    def prebuilt(instance: typer.Typer) -> Any:
        return built if instance is app else build(instance)

    typer.main.get_command = prebuilt  # type: ignore[assignment]

    answers = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            answers.close()
            _command(request)
        answers.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")


if __name__ == "__main__":
    serve()
