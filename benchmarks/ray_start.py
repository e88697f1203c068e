"""Training jobs on the Ray backend: create-to-running latency of a one-node and a two-node
job, beside the same jobs on the local backend, in one run.

A private Ray cluster on this machine (head 127.0.0.2 without CPUs, workers 127.0.0.3 and
127.0.0.4), one server on it and one on the local backend, each with a fresh home and the
same small training flavor. For each backend and shape, --jobs jobs one after another,
each created --gap-s seconds after the one before ended (as people submit work; the Ray
backend keeps a started runner on each node and needs a second or two to start the next
one after a task took it), then, for the two-node gang, the same back to back; per job:
- running: from just before the signed create request to the first time the job is seen
  Running (polled every 10 ms);
- first line: to the first line of the user's code on every node (the boot file prints
  time.time() first; the latest of the ranks counts).
Two warm-up jobs per server are not counted. Aim: two-node gang on Ray under 1.5 s.

    python benchmarks/ray_start.py [--jobs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openarts.storage.s3 import s3_client
from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.ray_cluster import NodeSpec, RayCluster
from openarts.testing.server import ServerProcess

GIB = 1 << 30
FLAVOR = "bench.ray.train"
FLAVORS = f"""
flavors:
  - name: {FLAVOR}
    vcpus: 0.5
    memory_gib: 0.5
    uses: [training]
"""
BUCKET = "bench-ray"
MARKER = "openarts-bench-started"
BOOT = f"import time\nprint({MARKER!r}, repr(time.time()), flush=True)\n"
JOBS = "/v2/{project_id}/training-jobs"
FINISHED = ("Completed", "Failed", "Terminated", "Abnormal")


def client_of(server: ServerProcess) -> SignedClient:
    row = server.credentials()
    keys = AkSk(row["Access Key Id"], row["Secret Access Key"])
    return SignedClient(server.endpoint, row["Project Id"], keys)


def job_body(name: str, nodes: int) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name, "description": "ray_start benchmark"},
        "algorithm": {
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/boot.py",
            "engine": {"engine_name": "Python"},
        },
        "spec": {"resource": {"flavor_id": FLAVOR, "node_count": nodes}},
    }


def one_job(api: SignedClient, name: str, nodes: int) -> tuple[float, float]:
    """(create-to-Running, create-to-last-rank's-first-line), in seconds."""
    sent = time.time()
    job_id = api.call("POST", JOBS, job_body(name, nodes), expect=201)["metadata"]["id"]
    running_at = None
    deadline = time.monotonic() + 120
    while True:
        job = api.call("GET", f"{JOBS}/{job_id}")
        phase = job["status"]["phase"]
        if running_at is None and phase in ("Running", *FINISHED):
            running_at = time.time()
        if phase in FINISHED:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not end: {job['status']}")
        time.sleep(0.01)
    if phase != "Completed" or running_at is None:
        raise RuntimeError(f"job {job_id} ended {phase}: {job['status']}")
    first_lines = []
    for rank in range(nodes):
        log = api.call("GET", f"{JOBS}/{job_id}/tasks/worker-{rank}/logs/preview")["content"]
        line = next(x for x in log.splitlines() if x.startswith(MARKER))
        first_lines.append(float(line.split()[1]))
    return running_at - sent, max(first_lines) - sent


@contextmanager
def server_on(home: Path, env: dict[str, str]) -> Iterator[SignedClient]:
    home.mkdir(parents=True)
    (home / "flavors.yaml").write_text(FLAVORS)
    server = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.2", **env})
    server.start(timeout_s=120)
    try:
        row = server.credentials()
        s3 = s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="code/boot.py", Body=BOOT.encode())
        yield client_of(server)
    finally:
        server.close()


def measure(
    api: SignedClient, label: str, jobs: int, gap_s: float
) -> dict[int, tuple[list[float], list[float]]]:
    """Per shape (1, 2 nodes spaced by gap_s; 0: 2 nodes back to back): the latencies."""
    for index in range(2):
        one_job(api, f"{label}-warm-{index}", 2)
    results: dict[int, tuple[list[float], list[float]]] = {}
    for nodes, gap in ((1, gap_s), (2, gap_s), (0, 0.0)):
        running, first = [], []
        for index in range(jobs):
            time.sleep(gap)
            r, f = one_job(api, f"{label}-{nodes}n-{index}", nodes or 2)
            running.append(r)
            first.append(f)
        results[nodes] = (running, first)
    return results


def describe(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s, max {max(values):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--gap-s", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oa-ray-bench-") as tmp:
        root = Path(tmp)
        cluster_nodes = [
            NodeSpec("127.0.0.2", num_cpus=0, memory_bytes=GIB),
            NodeSpec("127.0.0.3", num_cpus=2, memory_bytes=2 * GIB),
            NodeSpec("127.0.0.4", num_cpus=2, memory_bytes=2 * GIB),
        ]
        started = time.monotonic()
        with RayCluster.start(root / "ray", cluster_nodes) as cluster:
            print(f"ray cluster of 3 nodes up in {time.monotonic() - started:.1f} s")
            with server_on(
                root / "ray-home",
                {
                    "OPENARTS_BACKEND": "ray",
                    "OPENARTS_RAY_ADDRESS": cluster.address,
                    # Tasks on Ray nodes are not sandboxed yet (the server refuses to
                    # start otherwise); the local side runs without one too, to compare.
                    "OPENARTS_SANDBOX": "off",
                },
            ) as api:
                on_ray = measure(api, "ray", args.jobs, args.gap_s)
        with server_on(root / "local-home", {"OPENARTS_SANDBOX": "off"}) as api:
            on_local = measure(api, "local", args.jobs, args.gap_s)
    print(f"{args.jobs} jobs per shape, one at a time (python {sys.version.split()[0]})")
    for nodes in (1, 2, 0):
        what = f"{nodes}-node job, {args.gap_s:g} s apart" if nodes else "2-node job, back to back"
        print(f"{what}:")
        for label, results in (("local", on_local), ("ray  ", on_ray)):
            running, first = results[nodes]
            print(
                f"  {label} create->Running {describe(running)}; "
                f"create->first line {describe(first)}"
            )
    for nodes, how in ((2, f"{args.gap_s:g} s apart"), (0, "back to back")):
        gang = statistics.median(on_ray[nodes][0])
        verdict = "met" if gang < 1.5 else "NOT met"
        print(f"aim: two-node gang on Ray create->Running < 1.5 s, {how}: {gang:.3f} s ({verdict})")


if __name__ == "__main__":
    main()
