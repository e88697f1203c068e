"""Notebooks: create-to-Jupyter-answering latency, and what the proxy adds per request.

One real server (a fresh home, the built-in image, and a notebook flavor of the whole 2-core
machine, so the instance's CPU limit does not slow Jupyter down beside the unlimited
baseline).

1. Start: --instances times, one at a time, create a notebook through the official SDK
   and poll ``/api/status`` through the platform's URL (with the instance's token) until
   Jupyter answers 200; then waits for the API to show it RUNNING (a notebook is deleted
   only from a settled state), deletes it and awaits its end. Beside each, in
   the same run, the bare baseline: ``python -m jupyterlab`` started by hand with the same
   options, polled the same way on its own port. Prints p50/min/max of both and the ratio
   of the p50s (the aim: within 1.15x).
2. Proxy: --requests GETs of ``/api/status`` on one running instance, through the
   platform and directly to Jupyter's loopback port, alternating, each over its own
   keep-alive connection. Prints the p50 of both and what the proxy adds (aim: < 1 ms).

    python benchmarks/notebook_start.py [--instances 10] [--requests 1000]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from huaweicloudsdkmodelarts.v1 import (
    CreateNotebookRequest,
    DeleteNotebookRequest,
    ListImageRequest,
    ModelArtsClient,
    NotebookCreateRequest,
    ShowNotebookRequest,
    VolumeMountRequest,
)

from openarts.testing.bench_sdk import sdk_client
from openarts.testing.bench_summary import summary
from openarts.testing.server import ServerProcess, reap_tasks

FLAVOR = "bench.notebook"
FLAVORS = f"""
flavors:
  - name: {FLAVOR}
    vcpus: 2
    memory_gib: 2
    uses: [notebook]
"""
POLL_S = 0.005


def wait_200(session: requests.Session, url: str, params: dict[str, str], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if session.get(url, params=params, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(POLL_S)
    raise TimeoutError(f"{url} did not answer 200 within {limit_s} s")


def bare_start(home: Path) -> float:
    """Seconds from spawning JupyterLab by hand to its first 200 on /api/status."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = uuid.uuid4().hex
    root = home / "bare"
    root.mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1"]
    argv += [f"--port={port}", f"--ServerApp.root_dir={root}", "--ServerApp.base_url=/b/"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    env = {**os.environ, "JUPYTER_TOKEN": token, "HOME": str(root)}
    started = time.monotonic()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with requests.Session() as session:
            url = f"http://127.0.0.1:{port}/b/api/status"
            wait_200(session, url, {"token": token}, 120)
        return time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def platform_start(sdk: ModelArtsClient, image_id: str, index: int) -> tuple[float, str]:
    started = time.monotonic()
    created = sdk.create_notebook(
        CreateNotebookRequest(
            body=NotebookCreateRequest(
                name=f"bench-{index}",
                flavor=FLAVOR,
                image_id=image_id,
                volume=VolumeMountRequest(category="EVS", ownership="MANAGED"),
            )
        )
    )
    base = created.url.removesuffix("/lab")
    with requests.Session() as session:
        wait_200(session, f"{base}/api/status", {"token": created.token}, 120)
    answered = time.monotonic() - started
    wait_running(sdk, str(created.id))
    return answered, str(created.id)


def wait_running(sdk: ModelArtsClient, notebook_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = sdk.show_notebook(ShowNotebookRequest(id=notebook_id)).status
        if status == "RUNNING":
            return
        time.sleep(POLL_S)
    raise TimeoutError(f"notebook {notebook_id} was not shown RUNNING within 120 s")


def wait_gone(sdk: ModelArtsClient, notebook_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            sdk.show_notebook(ShowNotebookRequest(id=notebook_id))
        except Exception:
            return
        time.sleep(0.05)
    raise TimeoutError(f"notebook {notebook_id} was not deleted")


def proxy_cost(server: ServerProcess, sdk: ModelArtsClient, image_id: str, count: int) -> None:
    _, notebook_id = platform_start(sdk, image_id, 999)
    shown = sdk.show_notebook(ShowNotebookRequest(id=notebook_id))
    with sqlite3.connect(server.home / "openarts.db") as db:
        (address,) = db.execute(
            "SELECT address FROM notebooks WHERE id = ?", (notebook_id,)
        ).fetchone()
    through = f"{shown.url.removesuffix('/lab')}/api/status"
    path = f"/notebook/{notebook_id}/api/status"
    headers = {"Authorization": f"token {shown.token}"}
    # Jupyter in a sandbox listens on a Unix socket in the instance's folder.
    plain = direct_connection(address, server.home / "notebooks" / notebook_id)
    times: dict[str, list[float]] = {"proxy": [], "direct": []}

    def get_direct() -> None:
        plain.request("GET", path, headers=headers)
        answer = plain.getresponse()
        answer.read()
        assert answer.status == 200, answer.status

    with requests.Session() as via:
        for _ in range(20):  # warm both connections
            via.get(through, headers=headers, timeout=5).raise_for_status()
            get_direct()
        deadline = time.monotonic() + 120
        for _ in range(count):
            started = time.perf_counter()
            via.get(through, headers=headers, timeout=5).raise_for_status()
            times["proxy"].append(time.perf_counter() - started)
            started = time.perf_counter()
            get_direct()
            times["direct"].append(time.perf_counter() - started)
            if time.monotonic() > deadline:
                break
    plain.close()
    p50 = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"proxy: {len(times['proxy'])} GET /api/status each way, keep-alive")
    print(f"  direct to Jupyter   p50 {p50['direct']:.3f} ms")
    print(f"  through the proxy   p50 {p50['proxy']:.3f} ms")
    print(f"  added by the proxy  p50 {p50['proxy'] - p50['direct']:.3f} ms (aim: < 1 ms)")
    summary(
        "notebook proxy GET /api/status (p50)",
        f"{p50['proxy']:.3f} ms",
        f"direct {p50['direct']:.3f} ms",
        p50["proxy"] / p50["direct"],
        "< +1 ms",
    )
    sdk.delete_notebook(DeleteNotebookRequest(id=notebook_id))


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=5)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.socket_path)


def direct_connection(address: str, folder: Path) -> http.client.HTTPConnection:
    """A keep-alive connection straight to Jupyter: its loopback port, or (sandboxed)
    its Unix socket, stored relative to the instance's folder."""
    if address.startswith("unix:"):
        handle = os.open(folder / "socket", os.O_PATH | os.O_DIRECTORY)
        return _UnixConnection(f"/proc/self/fd/{handle}/jupyter.sock")
    host, _, port = address.rpartition(":")
    return http.client.HTTPConnection(host, int(port), timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        (home / "flavors.yaml").write_text(FLAVORS)
        server = ServerProcess(home).start()
        try:
            sdk = sdk_client(server)
            images = sdk.list_image(ListImageRequest(type="BUILD_IN")).data
            image_id = next(i.id for i in images if i.tag == "builtin" and "pytorch" not in i.name)
            platform: list[float] = []
            bare: list[float] = []
            for index in range(args.instances):
                seconds, notebook_id = platform_start(sdk, image_id, index)
                platform.append(seconds)
                sdk.delete_notebook(DeleteNotebookRequest(id=notebook_id))
                wait_gone(sdk, notebook_id)
                bare.append(bare_start(Path(folder)))
            print(f"start: {args.instances} instances, one at a time, to the first 200")
            for name, values in (("bare jupyter lab", bare), ("platform (SDK create)", platform)):
                print(
                    f"  {name:22s} p50 {statistics.median(values):.3f} s  "
                    f"min {min(values):.3f}  max {max(values):.3f}"
                )
            ratio = statistics.median(platform) / statistics.median(bare)
            print(f"  ratio of p50s {ratio:.2f}x (aim: within 1.15x)")
            summary(
                "notebook create to Jupyter's first 200 (p50)",
                f"{statistics.median(platform):.3f} s",
                f"bare jupyter lab {statistics.median(bare):.3f} s",
                ratio,
                "<= 1.15x",
            )
            proxy_cost(server, sdk, image_id, args.requests)
        finally:
            server.stop()
            # Instances outlive a stopped server by design (its next start adopts
            # them): end this run's, whatever happened.
            reap_tasks(home)


if __name__ == "__main__":
    main()
