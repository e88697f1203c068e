"""Start and footprint: ``openarts server`` to its first ``/health`` answer, and its memory
once idle, beside a bare FastAPI app with one route under uvicorn (the floor any FastAPI
server pays), measured in interleaved rounds in one run.

The first start of a home (it makes the database, the identity and the sandbox's
network) is shown apart; the rounds are restarts of that home, what a user waits for
most. Aims (issue 24): at most 0.8 s to /health, at most 100 MiB idle.

    python benchmarks/start.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from openarts.testing.bench_summary import summary

MIB = 1024 * 1024
BARE_APP = """
import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _started(command: list[str], env: dict[str, str], port: int) -> tuple[float, int]:
    """Seconds from launch to the first 200 from /health, and RSS three seconds later."""
    # Python keeps its compiled modules, as on a user's machine (some shells here turn
    # that off, and every start would compile the whole server again).
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = started + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{command[2:]} exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError("no /health answer in two minutes")
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        time.sleep(3)
        return seconds, psutil.Process(process.pid).memory_info().rss
    finally:
        process.terminate()
        process.wait(timeout=30)


def openarts_start(home: Path) -> tuple[float, int]:
    port = _free_port()
    env = dict(
        os.environ,
        OPENARTS_HOME=str(home),
        OPENARTS_PORT=str(port),
        OPENARTS_OBS_PORT=str(_free_port()),
        OPENARTS_CONSOLE_PORT=str(_free_port()),
        OPENARTS_LOG_LEVEL="warning",
    )
    return _started([sys.executable, "-m", "openarts", "server"], env, port)


def bare_start() -> tuple[float, int]:
    port = _free_port()
    return _started(
        [sys.executable, "-c", BARE_APP.replace("{port}", str(port))], dict(os.environ), port
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        first, first_rss = openarts_start(home)
        ours: list[tuple[float, int]] = []
        bare: list[tuple[float, int]] = []
        for _ in range(args.rounds):
            ours.append(openarts_start(home))
            bare.append(bare_start())
    ours_s = statistics.median(s for s, _ in ours)
    bare_s = statistics.median(s for s, _ in bare)
    ours_mib = statistics.median(r for _, r in ours) / MIB
    bare_mib = statistics.median(r for _, r in bare) / MIB
    print(f"median of {args.rounds} interleaved rounds\n")
    print(f"{'':34} {'to /health':>11} {'idle RSS':>10}")
    print(f"{'OpenArts, first start of a home':34} {first:10.2f}s {first_rss / MIB:8.0f}MiB")
    print(f"{'OpenArts, restart':34} {ours_s:10.2f}s {ours_mib:8.0f}MiB")
    print(f"{'bare FastAPI app (uvicorn)':34} {bare_s:10.2f}s {bare_mib:8.0f}MiB")
    print(
        f"\nOpenArts / bare: {ours_s / bare_s:.1f}x the time, {ours_mib / bare_mib:.1f}x the memory"
    )
    summary(
        "start to /health (s)", f"{ours_s:.2f}", f"bare {bare_s:.2f}", ours_s / bare_s, "<= 0.8 s"
    )
    summary(
        "idle memory (MiB)",
        f"{ours_mib:.0f}",
        f"bare {bare_mib:.0f}",
        ours_mib / bare_mib,
        "<= 100 MiB",
    )


if __name__ == "__main__":
    main()
