"""Training jobs on a container image: create to the code's first line, beside the same
job on the preset "Python" engine and beside a bare `podman run` of the same image.

One real server (a fresh home with a 0.25 vCPU / 0.5 GiB training flavor). The job's
code is one file in a bucket that prints time.time(); the latency is that minus the time
just before the create request was sent, read back from the log preview API. Each round
runs, in turn, a job on the test image (``openarts.testing.images``, a Debian root file
system with Python made by debootstrap, in the node's Podman storage: "cached"), the same
job on the preset engine, and `podman run --runtime runc` of the image printing
time.time() (spawn to first line), so the three share the machine's state.

Uncached: the image is pushed to the server's own registry, every copy of it is removed
from the node's Podman storage, and a job names it as ModelArts code does
(``swr.<region>.myhuaweicloud.com/default/...``): create to first line then includes the
whole pull (every layer) from the registry. The test image is tagged back afterwards.

    python benchmarks/images.py [--rounds 10] [--uncached-rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from openarts.storage.s3 import s3_client
from openarts.testing.bench_summary import summary
from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.images import base_image
from openarts.testing.server import ServerProcess

FLAVOR = "bench.cpu.small"
FLAVORS = f"""
flavors:
  - name: {FLAVOR}
    vcpus: 0.25
    memory_gib: 0.5
    uses: [training]
"""
BUCKET = "bench-images"
FIRST_LINE = b"import time\nprint(time.time(), flush=True)\n"
JOBS = "/v2/{project_id}/training-jobs"


def job_body(name: str, image: str | None) -> dict[str, Any]:
    algorithm: dict[str, Any] = {"code_dir": f"/{BUCKET}/code/"}
    if image is None:
        algorithm |= {"boot_file": f"/{BUCKET}/code/first.py", "engine": {"engine_name": "Python"}}
    else:
        algorithm |= {"command": "python3 first.py", "engine": {"image_url": image}}
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": algorithm,
        "spec": {"resource": {"flavor_id": FLAVOR, "node_count": 1}},
    }


def job_latency_ms(api: SignedClient, name: str, image: str | None) -> float:
    sent = time.time()
    created = api.call("POST", JOBS, job_body(name, image), expect=201)
    job_id = created["metadata"]["id"]
    deadline = time.monotonic() + 120
    while True:
        job = api.call("GET", f"{JOBS}/{job_id}")
        if job["status"]["phase"] in {"Completed", "Failed", "Terminated"}:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {name} did not end: {job['status']}")
        time.sleep(0.05)
    if job["status"]["phase"] != "Completed":
        raise RuntimeError(f"job {name} ended {job['status']}")
    log = api.call("GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/preview")
    first = float(log["content"].split()[0])
    return (first - sent) * 1000


def ulimits() -> list[str]:
    """Podman's default limits are refused on these machines (no CAP_SYS_RESOURCE):
    explicit ones are not (the open files as they are; processes a few thousand, as
    larger ones were refused here too)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return ["--ulimit", f"nofile={soft}:{soft}", "--ulimit", "nproc=4096:4096"]


def podman_run_ms(image: str, since: float | None = None) -> float:
    """Spawn (or ``since``) to the first line of `podman run` of the image."""
    sent = time.time() if since is None else since
    done = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--network",
            "none",
            *ulimits(),
            image,
            "python3",
            "-c",
            "import time; print(time.time())",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return (float(done.stdout.split()[0]) - sent) * 1000


def pushed(server: ServerProcess, image: str) -> str:
    """The image pushed to the server's registry (``openarts image push``, as a user
    would): its reference there."""
    row = server.credentials()
    env = {
        **os.environ,
        "OPENARTS_ENDPOINT": server.endpoint,
        "OPENARTS_AK": row["Access Key Id"],
        "OPENARTS_SK": row["Secret Access Key"],
        "OPENARTS_PROJECT_ID": row["Project Id"],
        "HOME": str(server.home.parent),
    }
    deadline = time.monotonic() + 30
    while not server_health(server)["registry"]["enabled"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no registry: {server_health(server)['registry']}")
        time.sleep(0.1)
    done = subprocess.run(
        [sys.executable, "-m", "openarts", "-o", "json", "image", "push", image, "bench:1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"push failed: {done.stderr}")
    return str(json.loads(done.stdout)["image"])


def server_health(server: ServerProcess) -> dict[str, Any]:
    answer: dict[str, Any] = (
        SignedClient(server.endpoint, "", AkSk("", ""))
        .client.get(f"{server.endpoint}/health")
        .json()
    )
    return answer


def forget_everywhere(image: str) -> None:
    """Every tag of the image's ID out of the node's storage (its layers go with it)."""
    image_id = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(["podman", "rmi", "--force", image_id], capture_output=True, check=True)


def bare_pull_and_run_ms(server: ServerProcess, reference: str) -> float:
    """The anchor for a pulled image: `podman pull` from the same registry with the same
    credentials, then `podman run` of it, spawn to first line."""
    row = server.credentials()
    pair = base64.b64encode(f"{row['Access Key Id']}:{row['Secret Access Key']}".encode())
    registry = reference.split("/", 1)[0]
    with tempfile.TemporaryDirectory() as folder:
        auth = Path(folder) / "auth.json"
        auth.write_text(json.dumps({"auths": {registry: {"auth": pair.decode()}}}))
        sent = time.time()
        subprocess.run(
            ["podman", "pull", "--quiet", "--authfile", str(auth), "--tls-verify=false", reference],
            capture_output=True,
            check=True,
            timeout=600,
        )
    return podman_run_ms(reference, since=sent)


def p50(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--uncached-rounds", type=int, default=3)
    args = parser.parse_args()
    image = base_image()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        (home / "flavors.yaml").write_text(FLAVORS)
        server = ServerProcess(home, env={"OPENARTS_LOG_LEVEL": "warning"}).start(timeout_s=60)
        try:
            row = server.credentials()
            s3 = s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="code/first.py", Body=FIRST_LINE)
            keys = AkSk(row["Access Key Id"], row["Secret Access Key"])
            api = SignedClient(server.endpoint, row["Project Id"], keys)
            # One of each first: the image's first mount, the engine's first use.
            job_latency_ms(api, "warm-image", image)
            job_latency_ms(api, "warm-engine", None)
            podman_run_ms(image)
            on_image: list[float] = []
            on_engine: list[float] = []
            bare: list[float] = []
            for round_ in range(args.rounds):
                on_image.append(job_latency_ms(api, f"image-{round_}", image))
                on_engine.append(job_latency_ms(api, f"engine-{round_}", None))
                bare.append(podman_run_ms(image))
            uncached: list[float] = []
            bare_pulled: list[float] = []
            in_registry = pushed(server, image)
            as_modelarts_names_it = (
                "swr.cn-north-4.myhuaweicloud.com/" + in_registry.split("/", 1)[1]
            )
            try:
                for round_ in range(args.uncached_rounds):
                    forget_everywhere(in_registry)
                    uncached.append(
                        job_latency_ms(api, f"uncached-{round_}", as_modelarts_names_it)
                    )
                    forget_everywhere(in_registry)
                    bare_pulled.append(bare_pull_and_run_ms(server, in_registry))
            finally:
                # The test image back under its own name (pulled again if it must be).
                if subprocess.run(["podman", "image", "exists", in_registry]).returncode:
                    subprocess.run(["podman", "pull", "--tls-verify=false", in_registry])
                subprocess.run(["podman", "tag", in_registry, image], check=True)
                subprocess.run(["podman", "rmi", in_registry], capture_output=True, check=False)
        finally:
            server.close()
    print(f"create to the code's first line, p50 of {args.rounds} (ms):")
    print(f"  job on a container image (cached) {p50(on_image):8.1f}")
    print(f"  job on the preset Python engine   {p50(on_engine):8.1f}")
    print(f"  bare podman run of the image      {p50(bare):8.1f}")
    print(f"  job on an image pulled at first use {p50(uncached):8.1f}   (p50 of {len(uncached)})")
    print(f"  bare podman pull + run of it        {p50(bare_pulled):8.1f}   (same registry)")
    summary(
        "image job create to first line (cached)",
        f"{p50(on_image):.0f} ms",
        f"preset engine {p50(on_engine):.0f} ms",
        p50(on_image) / p50(on_engine),
        "near the preset engine",
    )
    summary(
        "image job create to first line (cached)",
        f"{p50(on_image):.0f} ms",
        f"podman run {p50(bare):.0f} ms",
        p50(on_image) / p50(bare),
        "-",
    )
    summary(
        "image job create to first line (pulled)",
        f"{p50(uncached):.0f} ms",
        f"podman pull+run {p50(bare_pulled):.0f} ms",
        p50(uncached) / p50(bare_pulled),
        "-",
    )


if __name__ == "__main__":
    main()
