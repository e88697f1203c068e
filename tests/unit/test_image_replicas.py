"""The parts of a container image's replica that stand alone: the relay without a
command of its own, a replica whose task ends, and a program named as an image's PATH
finds it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from openarts.backends.local.backend import _on_path
from openarts.domain.events import EventType
from openarts.domain.workloads import WorkloadStatus
from openarts.reconcile.workload_rows import _outcome


def _task(rank: int, status: str) -> SimpleNamespace:
    return SimpleNamespace(rank=rank, status=status, reason="")


def test_a_replica_whose_server_ends_well_ends_while_a_training_gang_waits() -> None:
    tasks = [_task(0, "succeeded"), _task(1, "running")]
    ended = _outcome(WorkloadStatus.RUNNING, tasks, "service")
    assert ended is not None
    status, reason, kind = ended
    assert status is WorkloadStatus.FAILED and kind is EventType.WARNING
    assert reason.startswith("task 0 exited with status 0 while the replica's other task ran")
    # A gang's rank 0 may end before the others: the job waits for them.
    assert _outcome(WorkloadStatus.RUNNING, tasks, "training") is None
    assert _outcome(WorkloadStatus.RUNNING, [_task(0, "running")], "service") is None


def test_a_program_is_found_on_the_image_path(tmp_path: Path) -> None:
    program = tmp_path / "usr" / "local" / "bin" / "serve"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    (tmp_path / "usr" / "bin").mkdir()
    (tmp_path / "usr" / "bin" / "serve").write_text("not executable")
    program.chmod(0o755)
    assert _on_path(tmp_path, "/usr/bin:/usr/local/bin", "serve") == "/usr/local/bin/serve"
    # Not found, or a path already: as it was (the start then says it does not exist).
    assert _on_path(tmp_path, "/usr/bin", "missing") == "missing"
    assert _on_path(tmp_path, "/usr/local/bin", "./serve") == "./serve"


async def test_the_relay_alone_passes_calls_until_stopped(tmp_path: Path) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"heard " + await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    path = tmp_path / "replica.sock"
    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "openarts.inference.socket_relay",
        "--socket",
        str(path),
        "--port",
        str(port),
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 10
        while not path.exists():
            assert time.monotonic() < deadline, "the relay made no socket"
            await asyncio.sleep(0.02)
        assert path.stat().st_mode & 0o777 == 0o600
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b"hello\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 10) == b"heard hello\n"
        writer.close()
        relay.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(relay.wait(), 10) == 0
    finally:
        if relay.returncode is None:
            relay.kill()
            await relay.wait()
        server.close()
