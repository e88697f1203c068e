"""A real `openarts server` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    obs_port: int = field(default_factory=free_port)
    console_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

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
            "OPENARTS_HOST": "127.0.0.1",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "openarts", "server"],
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
        return subprocess.run(
            [sys.executable, "-m", "openarts", "--home", str(self.home), *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
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
    return len(groups)
