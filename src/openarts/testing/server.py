"""A real `openarts server` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import collections
import contextlib
import csv
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from openarts.backends.sandbox import Sandbox
from openarts.testing.cli_runner import shared_runner


def free_port() -> int:
    """A port free on loopback now, for a test server. It comes from below the kernel's
    ephemeral range (the ports of outgoing connections and of binds to port 0), so that
    nothing else running takes a server's port between a kill and its restart on the same
    ports; and, under pytest-xdist, from this worker's own share of that range, so that
    two workers' servers never pick the same one."""
    first, end = _share()
    for _ in range(200):
        port = random.randrange(first, end)
        # A port handed out lately may be free still (its server not started yet): one
        # server's four ports drawn at random would otherwise meet now and then.
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            _HANDED_OUT.append(port)
            return port
    raise RuntimeError(f"no free port between {first} and {end}")


_HANDED_OUT: collections.deque[int] = collections.deque(maxlen=256)


# Test servers' ports are at least this (well above the well-known ones).
PORTS_FROM = 20000


def _share() -> tuple[int, int]:
    try:
        below = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        below = 32768
    below = max(below, PORTS_FROM + 1000)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker) if worker.isdigit() else 0
    span = (below - PORTS_FROM) // max(count, 1)
    first = PORTS_FROM + (index % max(count, 1)) * span
    return first, first + span


@dataclass
class ServerProcess:
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    obs_port: int = field(default_factory=free_port)
    console_port: int = field(default_factory=free_port)
    registry_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # What the server's and its CLI's commands run under (as another user, say).
    prefix: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def obs_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.obs_port}"

    @property
    def console_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def credentials(self) -> dict[str, str]:
        with (self.home / "credentials.csv").open(encoding="utf-8") as handle:
            return next(csv.DictReader(handle))

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        self.log_path = self.home.parent / f"server-{self.port}.log"
        env = {
            **os.environ,
            **self.env,
            "OPENARTS_HOME": str(self.home),
            "OPENARTS_PORT": str(self.port),
            "OPENARTS_OBS_PORT": str(self.obs_port),
            "OPENARTS_CONSOLE_PORT": str(self.console_port),
            "OPENARTS_REGISTRY_PORT": str(self.registry_port),
            "OPENARTS_HOST": "127.0.0.1",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "openarts", "server"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.endpoint}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"server did not answer /health in {timeout_s}s:\n{self.log()}")

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM, then wait; return the exit code (SIGKILL only if it hangs)."""
        if self.process is None:
            return 0
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
        return process.returncode

    def close(self) -> None:
        """Stop the server and end every task it left running (tests' clean-up: a real
        server leaves its work running for the next start to adopt)."""
        try:
            self.stop()
        finally:
            reap_tasks(self.home)

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is shut down cleanly."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def cli(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `openarts --home <this server's home> ARGS` and return what it did."""
        if self.prefix:
            return subprocess.run(
                [*self.prefix, sys.executable, "-m", "openarts", "--home", str(self.home), *args],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        return shared_runner().run(
            ["--home", str(self.home), *args], env=os.environ, timeout=timeout_s
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def reap_tasks(home: Path) -> int:
    """SIGKILL the process group of every task started under ``home`` (each runs in a
    session of its own, led by the launcher whose command names its folder there); how
    many groups were ended."""
    marker = str(home.resolve()) + os.sep
    groups = set()
    for process in psutil.process_iter(["cmdline"]):
        if any(part.startswith(marker) for part in process.info["cmdline"] or []):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(process.pid) == process.pid:
                    groups.add(process.pid)
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    # A gang's network, and the pasta serving it, would stay: a server's next start
    # removes them, and this home has none.
    tasks = home / "tasks"
    for folder in sorted(tasks.iterdir()) if tasks.is_dir() else ():
        Sandbox.release_task_network(folder.name, wait_s=5.0 if groups else 0.0)
    return len(groups)
