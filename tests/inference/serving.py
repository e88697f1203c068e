"""A model server subprocess on a free loopback port, and the model packages tests serve."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from openarts.testing.iris import IRIS_FEATURES, IRIS_QUESTIONS, IRIS_ROWS, train_iris
from openarts.testing.server import free_port

READY_TIMEOUT_S = 60.0
POLL_S = 0.02
__all__ = ["IRIS_FEATURES", "IRIS_QUESTIONS", "IRIS_ROWS", "train_iris"]


def iris_schema() -> dict[str, Any]:
    """A config.json request schema naming the columns in training order."""
    row = {"type": "object", "properties": {name: {"type": "number"} for name in IRIS_FEATURES}}
    return {
        "type": "object",
        "properties": {
            "data": {
                "type": "object",
                "properties": {"req_data": {"type": "array", "items": [row]}},
            }
        },
    }


def write_config(
    model_dir: Path, model_type: str, apis: list[dict[str, Any]] | None = None
) -> None:
    config: dict[str, Any] = {"model_algorithm": "predict_analysis", "model_type": model_type}
    if apis is not None:
        config["apis"] = apis
    (model_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class ModelServer:
    model_dir: Path
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> ModelServer:
        """Start the process without waiting for it to be ready."""
        self.log_path = self.model_dir.parent / f"model-server-{self.port}.log"
        command = [
            sys.executable,
            "-m",
            "openarts.inference.server",
            "--model-dir",
            str(self.model_dir),
            "--port",
            str(self.port),
            *self.args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=self.model_dir.parent
            )
        return self

    def start(self) -> ModelServer:
        self.launch()
        self.wait_ready()
        return self

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not port_answers(self.port):
            if self.exited():
                raise RuntimeError(f"the model server exited early:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the model server did not listen in {timeout_s}s:\n{self.log()}"
                )
            time.sleep(POLL_S)

    def exited(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def wait_exit(self, timeout_s: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        """SIGTERM and wait; SIGKILL only when it hangs."""
        if self.process is None:
            return 0
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
        return process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def post(self, path: str = "/", **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=30, **kwargs)


# A custom model (type Image): its own HTTP server on $PORT. It answers /health at once,
# and POST / (echoing the body) after the number of seconds the body asks for.
CUSTOM_MODEL_SERVER = """
import json, os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._answer({"status": "OK"})

    def do_POST(self):
        asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(asked.get("sleep_s", 0))
        self._answer({"echo": asked})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""
