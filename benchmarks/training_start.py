"""Training jobs: create-to-user-code latency, and creates per second through the SDK.

One real server (a fresh home with a 0.25 vCPU / 0.5 GiB training flavor); the job's code
is one small boot file in a bucket of the embedded object store, run by the built-in
"Python" engine.

1. Latency: --jobs jobs, one at a time (each waits for the one before to end, so capacity
   never delays it). The boot file's first line prints time.time(); the latency is that
   minus the time just before the signed create request was sent, read back from the log
   preview API. Beside it, in the same run (one after each job), the bare interpreter:
   `python -c "import time; print(time.time())"`, spawn to first line. Also where the
   platform's time goes (from the job's, workload's and task's rows, read-only): the
   create call's answer, admission, the task's process started (code downloaded), the
   first line, and the job seen Running.
2. Throughput: --creates creates through the official SDK (huaweicloudsdkmodelarts) from
   --clients threads, each with its own client, bounded by --seconds; prints creates/s
   and one create call's p50/p95. The jobs queue and run meanwhile; the run then waits
   (at most --drain-seconds) for them to end and says how long that took.

The server's reconcile interval is its default unless --reconcile-interval is given
(OPENARTS_RECONCILE_INTERVAL_S).

    python benchmarks/training_start.py [--jobs 50] [--creates 200] [--clients 8]
        [--seconds 120] [--drain-seconds 180] [--reconcile-interval S] [--vcpus 0.25]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import huaweicloudsdkmodelarts.v1.model as sdk
import psutil

from openarts.domain.training import JobPhase
from openarts.security.signing import sign
from openarts.settings import Settings
from openarts.storage.s3 import s3_client
from openarts.testing.bench_sdk import sdk_client
from openarts.testing.server import ServerProcess

FLAVOR = "bench.cpu.small"
FLAVORS = """
flavors:
  - name: {name}
    vcpus: {vcpus}
    memory_gib: 0.5
    uses: [training]
"""
BUCKET = "bench-train"
MARKER = "openarts-bench-started"
# First thing: the time the user's code began (flushed at once).
BOOT = f"import time\nprint({MARKER!r}, repr(time.time()), flush=True)\n"
BARE = [sys.executable, "-c", "import time; print(time.time())"]
JOBS = "/v2/{project_id}/training-jobs"
FINISHED = tuple(p.value for p in JobPhase if p.finished)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def job_body(name: str) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name, "description": "training_start benchmark"},
        "algorithm": {
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/boot.py",
            "engine": {"engine_name": "Python"},
        },
        "spec": {"resource": {"flavor_id": FLAVOR, "node_count": 1}},
    }


class Api:
    """Signed requests (the platform's own signer, the SDK's scheme) over one connection."""

    def __init__(self, server: ServerProcess) -> None:
        row = server.credentials()
        self.endpoint = server.endpoint
        self.project_id = row["Project Id"]
        self.ak = row["Access Key Id"]
        self.sk = row["Secret Access Key"]
        self.client = httpx.Client(timeout=30)

    def prepared(self, method: str, path: str, body: Any = None) -> httpx.Request:
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
        return self.client.build_request(method, url, content=content, headers=headers)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.client.send(self.prepared(method, path, body))
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()


@dataclass
class Sample:
    job_id: str
    sent: float  # wall clock, just before the create request went out
    answered: float  # wall clock, its answer read
    first_line: float  # wall clock, printed by the boot file


@dataclass
class Stages:
    names: list[str] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value_ms: float) -> None:
        if name not in self.values:
            self.names.append(name)
            self.values[name] = []
        self.values[name].append(value_ms)


def wait_until_finished(api: Api, job_id: str, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        job: dict[str, Any] = api.call("GET", f"{JOBS}/{job_id}")
        if job["status"]["phase"] in FINISHED:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not end in {within_s:.0f}s: {job['status']}")
        time.sleep(0.02)


def first_line_time(api: Api, job_id: str) -> float:
    log = api.call("GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/preview")
    for line in log["content"].splitlines():
        if line.startswith(MARKER):
            return float(line.split()[1])
    raise RuntimeError(f"job {job_id}: no start line in its log: {log['content'][-500:]!r}")


def bare_spawn_ms() -> float:
    before = time.time()
    done = subprocess.run(BARE, capture_output=True, text=True, check=True, timeout=30)
    return (float(done.stdout.split()[0]) - before) * 1000


def latency_run(api: Api, jobs: int, per_job_s: float) -> tuple[list[Sample], list[float]]:
    samples: list[Sample] = []
    bare: list[float] = []
    # Warm-up, not counted: first-call paths in the server and the client.
    for index in range(3):
        request = api.prepared("POST", JOBS, job_body(f"warm-{index}"))
        created = api.client.send(request)
        if created.status_code != 201:
            raise RuntimeError(f"create answered {created.status_code}: {created.text}")
        wait_until_finished(api, created.json()["metadata"]["id"], per_job_s)
        bare_spawn_ms()
    for index in range(jobs):
        request = api.prepared("POST", JOBS, job_body(f"latency-{index}"))
        sent = time.time()
        response = api.client.send(request)
        answered = time.time()
        if response.status_code != 201:
            raise RuntimeError(f"create answered {response.status_code}: {response.text}")
        job_id = response.json()["metadata"]["id"]
        job = wait_until_finished(api, job_id, per_job_s)
        if job["status"]["phase"] != "Completed":
            raise RuntimeError(f"job {job_id} did not complete: {job['status']}")
        samples.append(Sample(job_id, sent, answered, first_line_time(api, job_id)))
        bare.append(bare_spawn_ms())
    return samples, bare


def stages_of(db_path: Path, samples: list[Sample]) -> Stages:
    """Where each job's time went, from its rows (the database opened read-only)."""
    stages = Stages()
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) as db:
        for sample in samples:
            row = db.execute(
                "SELECT j.created_at, w.started_at, t.started_at, j.started_at "
                "FROM training_jobs j JOIN workloads w ON w.id = j.workload_id "
                "JOIN workload_tasks t ON t.workload_id = w.id WHERE j.id = ?",
                (sample.job_id,),
            ).fetchone()
            created, admitted, process, running = row
            sent_ms = sample.sent * 1000
            stages.add("job row made (server clock)", created - sent_ms)
            stages.add("create call answered", (sample.answered - sample.sent) * 1000)
            stages.add("workload admitted", admitted - sent_ms)
            stages.add("task process started", process - sent_ms)
            stages.add("user code's first line", (sample.first_line - sample.sent) * 1000)
            stages.add("job marked Running", running - sent_ms)
    return stages


def throughput_run(
    server: ServerProcess, creates: int, clients: int, seconds: float
) -> tuple[int, float, list[float]]:
    lock = threading.Lock()
    next_index = 0
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    def body(name: str) -> Any:
        return sdk.Job(
            kind="job",
            metadata=sdk.JobMetadata(name=name, description="training_start benchmark"),
            algorithm=sdk.JobAlgorithm(
                code_dir=f"/{BUCKET}/code/",
                boot_file=f"/{BUCKET}/code/boot.py",
                engine=sdk.JobEngine(engine_name="Python"),
            ),
            spec=sdk.Spec(resource=sdk.SpecResource(flavor_id=FLAVOR, node_count=1)),
        )

    def worker(number: int) -> None:
        nonlocal next_index
        client = sdk_client(server)
        # One call first, uncounted: the client's connection and first-call paths.
        client.show_training_job_engines(sdk.ShowTrainingJobEnginesRequest())
        barrier.wait(timeout=60)
        while time.monotonic() < deadline and not errors:
            with lock:
                if next_index >= creates:
                    return
                index = next_index
                next_index += 1
            request = sdk.CreateTrainingJobRequest(body=body(f"sdk-{number}-{index}"))
            started = time.perf_counter()
            try:
                client.create_training_job(request)
            except Exception as error:
                errors.append(f"create {index}: {error}")
                return
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)

    barrier = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} create(s) failed, first: {errors[0]}")
    return len(latencies), elapsed, latencies


def unfinished(db_path: Path) -> int:
    marks = ",".join("?" * len(FINISHED))
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) as db:
        count = db.execute(
            f"SELECT count(*) FROM training_jobs WHERE phase NOT IN ({marks})",
            FINISHED,
        ).fetchone()[0]
    return int(count)


def drain(db_path: Path, within_s: float) -> tuple[float, int]:
    started = time.monotonic()
    left = unfinished(db_path)
    while left and time.monotonic() - started < within_s:
        time.sleep(0.25)
        left = unfinished(db_path)
    return time.monotonic() - started, left


def end_leftover_tasks(home: Path) -> None:
    """Tasks outlive the server by design (the next start adopts them): end ours."""
    for process in psutil.process_iter(["pid", "cmdline"]):
        if str(home) in " ".join(process.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                psutil.Process(process.info["pid"]).kill()


def row(name: str, values: list[float]) -> str:
    return f"{name:40} {percentile(values, 0.5):8.1f} {percentile(values, 0.95):8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--creates", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120.0, help="bound on part 2")
    parser.add_argument("--drain-seconds", type=float, default=180.0)
    parser.add_argument("--per-job-seconds", type=float, default=60.0)
    parser.add_argument("--reconcile-interval", type=float, default=None)
    parser.add_argument("--vcpus", type=float, default=0.25, help="the flavor's vCPUs")
    args = parser.parse_args()
    env = {"OPENARTS_LOG_LEVEL": "info"}
    if args.reconcile_interval is not None:
        env["OPENARTS_RECONCILE_INTERVAL_S"] = str(args.reconcile_interval)
    interval = args.reconcile_interval or Settings.model_fields["reconcile_interval_s"].default
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        (home / "flavors.yaml").write_text(FLAVORS.format(name=FLAVOR, vcpus=args.vcpus))
        server = ServerProcess(home, env=env)
        try:
            server.start()
            credentials = server.credentials()
            s3 = s3_client(
                server.obs_endpoint,
                credentials["Access Key Id"],
                credentials["Secret Access Key"],
            )
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="code/boot.py", Body=BOOT.encode())
            limits = [
                line.split("limits are ", 1)[1].split(" at ")[0]
                for line in server.log().splitlines()
                if "limits are " in line
            ]
            print(
                f"flavor {FLAVOR}: {args.vcpus} vCPU, 0.5 GiB; engine Python (built-in); "
                f"{os.cpu_count()} CPUs\nreconcile interval: {interval} s"
                f"{'' if args.reconcile_interval else ' (the default)'}; task CPU/memory "
                f"limits {limits[-1] if limits else 'not reported'}"
            )
            api = Api(server)
            samples, bare = latency_run(api, args.jobs, args.per_job_seconds)
            stages = stages_of(home / "openarts.db", samples)
            latency = stages.values["user code's first line"]
            print(f"\n{args.jobs} jobs one at a time, ms since the create call was sent")
            print(f"{'':40} {'p50':>8} {'p95':>8}")
            for name in stages.names:
                print(row(name, stages.values[name]))
            print(row("bare: spawn to first line", bare))
            print(
                f"\ncreate to user code running: p50 {percentile(latency, 0.5):.1f} ms "
                f"(aim: under 150 ms), {statistics.median(latency) / statistics.median(bare):.1f}x "
                "the bare spawn"
            )

            done, elapsed, create_ms = throughput_run(
                server, args.creates, args.clients, args.seconds
            )
            print(f"\n{done} creates through the SDK, {args.clients} clients: {elapsed:.2f} s")
            print(f"creates/s: {done / elapsed:.1f}")
            print(f"{'':40} {'p50':>8} {'p95':>8}")
            print(row("one create call, ms", create_ms))
            print(f"slowest create call: {max(create_ms):.1f} ms")
            waited, left = drain(home / "openarts.db", args.drain_seconds)
            if left:
                print(f"after {waited:.0f} s, {left} job(s) had not ended (left behind)")
            else:
                print(f"all jobs ended {waited:.1f} s after the last create")
        finally:
            server.stop()
            end_leftover_tasks(home)
    print(f"\nrun time: {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
