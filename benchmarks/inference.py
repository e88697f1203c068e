"""Inference: what the gateway adds to a prediction, beside the bare replica and another
serving framework, all in one run on the same model.

One real server (a fresh home with one small inference flavor). A scikit-learn
LogisticRegression is trained here on a few iris rows, saved with joblib, uploaded with
boto3 to the embedded object store, imported as a model and deployed as a real-time
service of one replica. Then, with an aiohttp client at each --concurrency (connections),
for at most --seconds and --requests per target, after a warm-up of each:

1. gateway: POST /v1/infers/{service_id}/ on the platform's port, with an X-Auth-Token
   (obtained once from the IAM token API);
2. direct: the same POST straight to the replica's own port (its address read from the
   server's database, ``service_replicas.address`` of the ready replica);
3. other: the same joblib model served by BentoML (``bentoml serve``, one worker) when
   bentoml is importable here, otherwise by a hand-rolled FastAPI app under uvicorn (one
   worker); the script says which one and why.

The targets are measured in --rounds rounds, the order reversed each round (so drift on a
busy machine falls on every target alike), and their samples pooled. Prints req/s, p50
and p99 for each, the CPU each process spent per request, and the ratios: gateway /
direct throughput (aim >= 0.85), gateway p50 - direct p50 (aim < 0.5 ms) and gateway /
other throughput (aim > 1).

    python benchmarks/inference.py [--concurrency 8 1] [--seconds 8] [--requests 50000]
        [--rounds 2] [--vcpus 1] [--other auto|bentoml|fastapi]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil

from openarts.security.signing import sign
from openarts.storage.s3 import s3_client
from openarts.testing.iris import IRIS_FEATURES, train_iris
from openarts.testing.server import ServerProcess, free_port
from openarts.unix_sockets import SocketPath

FLAVOR = "bench.infer.small"
FLAVORS = """
flavors:
  - name: {name}
    vcpus: {vcpus}
    memory_gib: 1
    uses: [inference]
"""
BUCKET = "bench-models"
PREFIX = "iris/model"
CONFIG = {
    "model_algorithm": "predict_analysis",
    "model_type": "Scikit_Learn",
    "runtime": f"python_{sys.version_info.major}.{sys.version_info.minor}",
    "dependencies": [
        {
            "installer": "pip",
            "packages": [
                {"package_name": "scikit-learn", "package_version": "1.0", "restraint": "ATLEAST"}
            ],
        }
    ],
}
BODY = json.dumps(
    {"data": {"req_data": [dict(zip(IRIS_FEATURES, (5.0, 3.3, 1.4, 0.2), strict=True))]}}
).encode()
EXPECTED = "setosa"
WARMUP = 300
ADMIN_PASSWORD = "bench-" + secrets.token_hex(8)

# The other framework's service, the way its documentation writes one: the same model,
# the same request and answer shapes, the same column order, one worker, no access log
# (the platform's model server writes none either).
BENTO_SERVICE = f"""
from __future__ import annotations

import os
from typing import Any

import bentoml
import joblib
import numpy as np

IRIS_FEATURES = {IRIS_FEATURES!r}


@bentoml.service(workers=1, logging={{"access": {{"enabled": False}}}})
class Iris:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["IRIS_MODEL"])

    @bentoml.api(route="/predict")
    def predict(self, data: dict[str, Any]) -> dict[str, Any]:
        matrix = np.asarray([[row[n] for n in IRIS_FEATURES] for row in data["req_data"]], float)
        found = self.model.predict(matrix).tolist()
        return {{"data": {{"resp_data": [{{"predictresult": v}} for v in found]}}}}
"""
FASTAPI_APP = f"""
from __future__ import annotations

import os
from typing import Any

import joblib
import numpy as np
from fastapi import FastAPI

IRIS_FEATURES = {IRIS_FEATURES!r}
model = joblib.load(os.environ["IRIS_MODEL"])
app = FastAPI()


@app.post("/predict")
def predict(body: dict[str, Any]) -> dict[str, Any]:
    rows = body["data"]["req_data"]
    matrix = np.asarray([[row[n] for n in IRIS_FEATURES] for row in rows], float)
    found = model.predict(matrix).tolist()
    return {{"data": {{"resp_data": [{{"predictresult": v}} for v in found]}}}}
"""


def until(probe: Callable[[], Any], what: str, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


class Api:
    """Signed requests (the platform's own signer, the SDK's scheme) over one connection."""

    def __init__(self, server: ServerProcess) -> None:
        row = server.credentials()
        self.endpoint = server.endpoint
        self.project_id = row["Project Id"]
        self.ak = row["Access Key Id"]
        self.sk = row["Secret Access Key"]
        self.client = httpx.Client(timeout=30)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        url = self.endpoint + path.format(project_id=self.project_id)
        content = b"" if body is None else json.dumps(body).encode()
        headers = sign(
            method=method,
            url=url,
            access_key=self.ak,
            secret_key=self.sk,
            headers={"Content-Type": "application/json"},
            body=content,
        )
        response = self.client.request(method, url, content=content, headers=headers)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def token(self) -> str:
        """A project-scoped token from the IAM token API (admin's password login)."""
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "admin", "password": ADMIN_PASSWORD}},
                },
                "scope": {"project": {"id": self.project_id}},
            }
        }
        issued = self.client.post(f"{self.endpoint}/v3/auth/tokens", json=body)
        if issued.status_code != 201:
            raise RuntimeError(f"token: {issued.status_code} {issued.text}")
        return issued.headers["X-Subject-Token"]


def deploy(api: Api, server: ServerProcess, model_file: Path) -> tuple[str, str]:
    """Upload, import and deploy the model; the service's id and its replica's address."""
    credentials = server.credentials()
    s3 = s3_client(
        server.obs_endpoint, credentials["Access Key Id"], credentials["Secret Access Key"]
    )
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/iris.joblib", Body=model_file.read_bytes())
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/config.json", Body=json.dumps(CONFIG).encode())
    began = time.monotonic()
    created = api.call(
        "POST",
        "/v1/{project_id}/models",
        {
            "model_name": "iris",
            "model_version": "1.0.0",
            "model_type": "Scikit_Learn",
            "source_location": f"obs://{BUCKET}/{PREFIX}/",
        },
    )
    model_id = str(created["model_id"])

    def published() -> bool:
        shown = api.call("GET", f"/v1/{{project_id}}/models/{model_id}")
        if shown["model_status"] == "failed":
            raise RuntimeError(f"the model failed to import: {shown}")
        return bool(shown["model_status"] == "published")

    until(published, "the model to be published", 120)
    imported = time.monotonic()
    deployed = api.call(
        "POST",
        "/v1/{project_id}/services",
        {
            "service_name": "iris-bench",
            "infer_type": "real-time",
            "config": [
                {"model_id": model_id, "weight": 100, "specification": FLAVOR, "instance_count": 1}
            ],
        },
    )
    service_id = str(deployed["service_id"])

    def running() -> bool:
        shown = api.call("GET", f"/v1/{{project_id}}/services/{service_id}")
        if shown["status"] == "failed":
            raise RuntimeError(f"the service failed: {shown}")
        return bool(shown["status"] == "running")

    until(running, "the service to be running", 120)
    with sqlite3.connect(f"file:{server.home / 'openarts.db'}?mode=ro", uri=True) as db:
        (address,) = db.execute(
            "SELECT address FROM service_replicas WHERE service_id = ? AND state = 'ready'",
            (service_id,),
        ).fetchone()
    print(
        f"model imported in {imported - began:.1f} s, service running "
        f"{time.monotonic() - imported:.1f} s later; replica at {address}"
    )
    return service_id, str(address)


def replica_of(service_id: str) -> psutil.Process:
    """The model server of the service's replica (in its sandbox: found by its
    environment, it listens on no TCP port of the host's)."""
    for process in psutil.process_iter(["environ", "cmdline"]):
        environ = process.info["environ"] or {}
        if environ.get("OPENARTS_SERVICE_ID") == service_id and "openarts.inference.server" in (
            process.info["cmdline"] or []
        ):
            return process
    raise RuntimeError(f"no model server of service {service_id}")


def process_on_port(port: int) -> psutil.Process:
    """The process listening on a loopback port (for its CPU time)."""
    for connection in psutil.net_connections("tcp"):
        if connection.status == psutil.CONN_LISTEN and getattr(connection.laddr, "port", 0) == port:
            if connection.pid is None:
                break
            return psutil.Process(connection.pid)
    raise RuntimeError(f"no process of ours is seen listening on port {port}")


def cpu_limit(pid: int) -> str:
    """The CPU quota of a process's own cgroup (v1 or v2), in vCPUs."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError as error:
        return f"unknown ({error.strerror})"
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):  # v1: a hierarchy of its own
            folder = Path("/sys/fs/cgroup", controllers, path.lstrip("/"))
            with contextlib.suppress(OSError, ValueError):
                quota = int((folder / "cpu.cfs_quota_us").read_text())
                period = int((folder / "cpu.cfs_period_us").read_text())
                return "none" if quota < 0 else f"{quota / period:g} vCPU"
    for line in lines:
        if line.startswith("0::"):
            with contextlib.suppress(OSError, ValueError):
                cpu_max = Path("/sys/fs/cgroup", line[3:].lstrip("/"), "cpu.max").read_text()
                limit, every = cpu_max.split()
                return "none" if limit == "max" else f"{int(limit) / int(every):g} vCPU"
    return "none found"


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"did not listen on {port} in {limit_s:.0f} s:\n{log.read_text()[-3000:]}")


@dataclass
class Other:
    """The other framework's server: which one, why, its URL and its process group."""

    name: str
    why: str
    url: str
    process: subprocess.Popen[bytes]
    port: int
    # Its process tree once it served (BentoML's arbiter and worker).
    processes: list[psutil.Process] = field(default_factory=list)

    def stop(self) -> None:
        if self.process.poll() is None:
            # Its own session (start_new_session), so its group holds only what it started.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for child in self.processes:  # a worker that outlived its arbiter
            with contextlib.suppress(psutil.Error):
                child.kill()


def start_other(choice: str, folder: Path, model_file: Path) -> Other:
    bentoml_found = importlib.util.find_spec("bentoml") is not None
    reasons: list[str] = []
    if choice in ("auto", "bentoml"):
        if bentoml_found:
            try:
                return _start_bentoml(folder, model_file)
            except (RuntimeError, TimeoutError) as error:
                if choice == "bentoml":
                    raise
                reasons.append(f"bentoml is installed but did not serve: {error}")
        elif choice == "bentoml":
            raise RuntimeError("--other bentoml: bentoml is not importable here")
        else:
            reasons.append("bentoml is not importable here (pip install bentoml to use it)")
    else:
        reasons.append("--other fastapi was asked for")
    other = _start_fastapi(folder, model_file)
    other.why = "; ".join(reasons)
    return other


def _launch(argv: list[str], folder: Path, model_file: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "IRIS_MODEL": str(model_file),
        # No usage reports: this run sends nothing beyond the loopback interface.
        "BENTOML_DO_NOT_TRACK": "True",
        "BENTOML_HOME": str(folder / "bentoml-home"),
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _start_bentoml(folder: Path, model_file: Path) -> Other:
    work = folder / "bento"
    work.mkdir()
    (work / "service.py").write_text(textwrap.dedent(BENTO_SERVICE))
    port = free_port()
    log = folder / "bentoml.log"
    argv = [sys.executable, "-m", "bentoml", "serve", "service:Iris"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--working-dir", str(work)]
    process = _launch(argv, work, model_file, log)
    other = Other(
        f"BentoML {importlib.metadata.version('bentoml')}",
        "bentoml is importable here",
        f"http://127.0.0.1:{port}/predict",
        process,
        port,
    )
    try:
        wait_listening(port, process, log, 90)
        with httpx.Client(timeout=5) as client:
            until(
                lambda: _answers(client, f"http://127.0.0.1:{port}/readyz"),
                "BentoML's /readyz",
                60,
            )
    except BaseException:
        other.stop()
        raise
    return other


def _start_fastapi(folder: Path, model_file: Path) -> Other:
    import fastapi
    import uvicorn

    work = folder / "fastapi"
    work.mkdir()
    (work / "app.py").write_text(textwrap.dedent(FASTAPI_APP))
    port = free_port()
    log = folder / "fastapi.log"
    argv = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"]
    process = _launch(argv, work, model_file, log)
    other = Other(
        f"FastAPI {fastapi.__version__} + uvicorn {uvicorn.__version__}",
        "",
        f"http://127.0.0.1:{port}/predict",
        process,
        port,
    )
    try:
        wait_listening(port, process, log, 60)
    except BaseException:
        other.stop()
        raise
    return other


def _answers(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str]
    # The processes that serve it, by label (the gateway's server, the replica, the other
    # framework's process tree), for the CPU they spend per request.
    groups: dict[str, list[psutil.Process]]
    # A sandboxed replica is reached on its Unix socket (a path connect() takes).
    socket: str | None = None
    latencies_ms: list[float] = field(default_factory=list)
    requests: int = 0
    elapsed_s: float = 0.0
    server_cpu_s: dict[str, float] = field(default_factory=dict)
    client_cpu_s: float = 0.0
    # The whole machine's CPU seconds, busy and all, while it was measured.
    machine_busy_s: float = 0.0
    machine_total_s: float = 0.0

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def cpu_now(self) -> dict[str, float]:
        return {label: sum(map(cpu_seconds, group)) for label, group in self.groups.items()}


def cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def machine_cpu(before: Any, after: Any) -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine between two ``psutil.cpu_times()``."""
    spent = {name: getattr(after, name) - getattr(before, name) for name in after._fields}
    # guest time is counted in user time already.
    total = sum(v for k, v in spent.items() if k not in ("guest", "guest_nice"))
    idle = spent.get("idle", 0.0) + spent.get("iowait", 0.0)
    return total - idle, total


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


async def _post(session: aiohttp.ClientSession, target: Target) -> float:
    started = time.perf_counter()
    async with session.post(target.url, data=BODY, headers=target.headers) as response:
        payload = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{target.name} answered {response.status}: {payload[:300]!r}")
    return (time.perf_counter() - started) * 1000


async def drive(target: Target, concurrency: int, seconds: float, cap: int) -> None:
    """``concurrency`` connections, each one request at a time, until ``seconds`` pass or
    ``cap`` requests are sent; the figures are added to ``target``'s."""
    connector: aiohttp.BaseConnector = (
        aiohttp.UnixConnector(path=target.socket, limit=concurrency)
        if target.socket
        else aiohttp.TCPConnector(limit=concurrency)
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm-up, not counted: the connections, first-call paths, the model's caches.
        async with session.post(target.url, data=BODY, headers=target.headers) as response:
            answer = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"{target.name} answered {response.status}: {answer}")
            if answer["data"]["resp_data"][0]["predictresult"] != EXPECTED:
                raise RuntimeError(f"{target.name} predicted wrong: {answer}")
        per_worker = max(1, WARMUP // concurrency)
        await asyncio.gather(
            *(_warm(session, target, per_worker) for _ in range(concurrency)),
        )
        sent = 0
        latencies: list[float] = []

        async def worker(deadline: float) -> None:
            nonlocal sent
            while sent < cap and time.perf_counter() < deadline:
                sent += 1
                latencies.append(await _post(session, target))

        before = target.cpu_now()
        machine_before = psutil.cpu_times()
        client_before = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        target.client_cpu_s += time.process_time() - client_before
        busy, total = machine_cpu(machine_before, psutil.cpu_times())
        target.machine_busy_s += busy
        target.machine_total_s += total
        for label, spent in target.cpu_now().items():
            target.server_cpu_s[label] = target.server_cpu_s.get(label, 0.0) + spent - before[label]
        target.latencies_ms += latencies
        target.requests += len(latencies)
        target.elapsed_s += elapsed


async def _warm(session: aiohttp.ClientSession, target: Target, count: int) -> None:
    for _ in range(count):
        await _post(session, target)


def measure(
    targets: list[Target], concurrency: int, seconds: float, cap: int, rounds: int
) -> list[Target]:
    fresh = [Target(t.name, t.url, t.headers, t.groups, t.socket) for t in targets]
    for number in range(rounds):
        order = fresh if number % 2 == 0 else fresh[::-1]
        for target in order:
            asyncio.run(drive(target, concurrency, seconds / rounds, cap // rounds))
    return fresh


def report(figures: list[Target], concurrency: int) -> None:
    print(f"\nconcurrency {concurrency} (connections, one request at a time each)")
    print(f"{'target':34} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for target in figures:
        print(
            f"{target.name:34} {target.requests:8d} {target.throughput:8.0f} "
            f"{target.percentile(0.5):8.3f} {target.percentile(0.99):8.3f}"
        )
    print(f"{'CPU (% of the machine)':34} {'busy':>8} {'others':>8}  CPU ms per request")
    for target in figures:
        count = max(1, target.requests)
        cpu = {"client": target.client_cpu_s, **target.server_cpu_s}
        spent = ", ".join(f"{label} {1000 * value / count:.3f}" for label, value in cpu.items())
        # Busy time that none of the measured processes spent: another program's load
        # (the numbers are then not clean), this server's background loops, idle BentoML.
        elsewhere = max(0.0, target.machine_busy_s - sum(cpu.values()))
        total = max(1e-9, target.machine_total_s)
        print(
            f"{target.name:34} {100 * target.machine_busy_s / total:7.0f}% "
            f"{100 * elsewhere / total:7.0f}%  {spent}"
        )
    gateway, direct, other = figures
    print(
        f"  gateway / direct throughput   {gateway.throughput / direct.throughput:.3f} "
        "(aim: >= 0.85)"
    )
    print(
        f"  gateway p50 - direct p50      {gateway.percentile(0.5) - direct.percentile(0.5):.3f} ms"
        " (aim: < 0.5 ms)"
    )
    print(f"  gateway / other throughput    {gateway.throughput / other.throughput:.3f} (aim: > 1)")


def end_leftovers(home: Path) -> None:
    """Replicas outlive the server by design (the next start adopts them): end ours."""
    for process in psutil.process_iter(["pid", "cmdline"]):
        if str(home) in " ".join(process.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                psutil.Process(process.info["pid"]).kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 1])
    parser.add_argument("--seconds", type=float, default=8.0, help="per target and concurrency")
    parser.add_argument("--requests", type=int, default=50_000, help="cap, likewise")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--vcpus",
        type=float,
        default=1.0,
        help="the replica's flavor; one Python process uses about one CPU at most, so 1 "
        "keeps the replica level with the other framework's unlimited single worker",
    )
    parser.add_argument("--other", choices=("auto", "bentoml", "fastapi"), default="auto")
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        home = folder / "home"
        home.mkdir()
        (home / "flavors.yaml").write_text(FLAVORS.format(name=FLAVOR, vcpus=args.vcpus))
        model_file = folder / "iris.joblib"
        train_iris(model_file)
        env = {
            "OPENARTS_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "OPENARTS_LOG_LEVEL": "warning",
            "OPENARTS_RECONCILE_INTERVAL_S": "0.5",
        }
        server = ServerProcess(home, env=env)
        other: Other | None = None
        api: Api | None = None
        service_id = ""
        try:
            server.start()
            api = Api(server)
            service_id, address = deploy(api, server, model_file)
            # One token for the whole run: the gateway checks it on every call. Signing
            # each request (AK/SK) in this Python client instead would cost the client
            # more CPU than the gateway spends and make the client the bottleneck.
            token = api.token()
            other = start_other(args.other, folder, model_file)
            print(f"other framework: {other.name} ({other.why})")
            assert server.process is not None
            gateway_process = psutil.Process(server.process.pid)
            socket_path = None
            if address.startswith("unix:"):
                # In its sandbox the replica listens on a Unix socket under the home
                # (the address is relative to <home>/replicas).
                socket_path = SocketPath(str(home / "replicas" / address.removeprefix("unix:")))
                replica_process = replica_of(service_id)
            else:
                replica_process = process_on_port(int(address.rsplit(":", 1)[1]))
            other.processes = tree(other.process.pid)
            print(
                f"replica: flavor {args.vcpus} vCPU, 1 GiB; its cgroup's CPU quota: "
                f"{cpu_limit(replica_process.pid)}; other framework's: "
                f"{cpu_limit(other.process.pid)}; {os.cpu_count()} CPUs on this machine; "
                "client: aiohttp in this process"
            )
            headers = {"Content-Type": "application/json"}
            targets = [
                Target(
                    "gateway (/v1/infers, X-Auth-Token)",
                    f"{server.endpoint}/v1/infers/{service_id}/",
                    {**headers, "X-Auth-Token": token},
                    {"gateway": [gateway_process], "replica": [replica_process]},
                ),
                Target(
                    "direct to the replica",
                    f"http://{'localhost' if socket_path else address}/",
                    headers,
                    {"replica": [replica_process]},
                    socket_path.path if socket_path else None,
                ),
                Target(other.name, other.url, headers, {"server": other.processes}),
            ]
            for concurrency in args.concurrency:
                figures = measure(targets, concurrency, args.seconds, args.requests, args.rounds)
                report(figures, concurrency)
        finally:
            if other is not None:
                other.stop()
            if api is not None:
                if service_id:
                    with contextlib.suppress(Exception):
                        api.call("DELETE", f"/v1/{{project_id}}/services/{service_id}")
                api.client.close()
            server.stop()
            end_leftovers(home)
    print(f"\nrun time: {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
