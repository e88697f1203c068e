"""Training jobs on a container image: create to the code's first line, beside the same
job on the preset "Python" engine and beside a bare `podman run` of the same image.

One real server (a fresh home with a 0.25 vCPU / 0.5 GiB training flavor). The job's
code is one file in a bucket that prints time.time(); the latency is that minus the time
just before the create request was sent, read back from the log preview API. Each round
runs, in turn, a job on the test image (``openarts.testing.images``, a Debian root file
system with Python made by debootstrap, in the node's Podman storage: "cached"), the same
job on the preset engine, and `podman run --runtime runc` of the image printing
time.time() (spawn to first line), so the three share the machine's state. Uncached
(an image pulled from a registry at its first use) is not measured yet: the embedded
registry is still to come.

    python benchmarks/images.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
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


def podman_run_ms(image: str) -> float:
    sent = time.time()
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


def p50(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10)
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
        finally:
            server.close()
    print(f"create to the code's first line, p50 of {args.rounds} (ms):")
    print(f"  job on a container image (cached) {p50(on_image):8.1f}")
    print(f"  job on the preset Python engine   {p50(on_engine):8.1f}")
    print(f"  bare podman run of the image      {p50(bare):8.1f}")
    print("  job on an image pulled at first use: not measured (no registry yet)")
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


if __name__ == "__main__":
    main()
