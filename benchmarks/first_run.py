"""A preset engine's first job, create -> running (its environment built on first use),
and the second's (the environment reused), beside ``pip install`` of the same packages
into a fresh virtual environment, in the same run.

    python benchmarks/first_run.py [--engines PyTorch,Scikit_Learn,XGBoost,TensorFlow,MindSpore]

Every engine needs its packages from the machine's package index; TensorFlow and
MindSpore download several hundred MB each, so they are left out unless named.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from huaweicloudsdkmodelarts.v1 import (
    CreateTrainingJobRequest,
    Job,
    JobAlgorithm,
    JobEngine,
    JobMetadata,
    ModelArtsClient,
    ShowTrainingJobDetailsRequest,
    Spec,
    SpecResource,
)

from openarts.domain.engines import engine_catalog
from openarts.storage.s3 import s3_client as make_client
from openarts.testing.bench_sdk import sdk_client
from openarts.testing.server import ServerProcess

FLAVORS = """
flavors:
  - name: bench.train
    vcpus: 0.5
    memory_gib: 2
    uses: [training]
"""
BUCKET = "bench-first-run"
SCRIPT = b"import time\nprint('running', flush=True)\ntime.sleep(2)\n"
LIMIT_S = 1800


def create_to_running(sdk: ModelArtsClient, engine_name: str, name: str) -> float:
    started = time.monotonic()
    job = sdk.create_training_job(
        CreateTrainingJobRequest(
            body=Job(
                kind="job",
                metadata=JobMetadata(name=name),
                algorithm=JobAlgorithm(
                    code_dir=f"/{BUCKET}/code/",
                    boot_file=f"/{BUCKET}/code/train.py",
                    engine=JobEngine(engine_name=engine_name),
                ),
                spec=Spec(resource=SpecResource(flavor_id="bench.train", node_count=1)),
            )
        )
    )
    while time.monotonic() - started < LIMIT_S:
        shown = sdk.show_training_job_details(
            ShowTrainingJobDetailsRequest(training_job_id=job.metadata.id)
        )
        phase = shown.status.phase
        if phase in ("Running", "Completed"):
            return time.monotonic() - started
        if phase in ("Failed", "Abnormal", "Terminated"):
            raise SystemExit(f"{name}: {phase}: {shown.status}")
        time.sleep(0.05)
    raise SystemExit(f"{name}: not running after {LIMIT_S} s")


def pip_install(packages: tuple[str, ...], folder: Path) -> float:
    started = time.monotonic()
    base = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", str(folder)], check=True)
    subprocess.run(
        [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--no-input", *packages],
        check=True,
        timeout=LIMIT_S,
    )
    return time.monotonic() - started


def main() -> None:

    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="PyTorch,Scikit_Learn,XGBoost")
    args = parser.parse_args()
    wanted = [name.strip().lower() for name in args.engines.split(",") if name.strip()]
    engines = [e for e in engine_catalog() if e.name.lower() in wanted and not e.builtin]
    print(f"{'engine':14s} {'first job':>10s} {'second job':>11s} {'pip install':>12s}")
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix="openarts-first-run-") as folder:
            home = Path(folder) / "home"
            home.mkdir()
            (home / "flavors.yaml").write_text(FLAVORS)
            server = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.2"}).start()
            try:
                row = server.credentials()
                s3 = make_client(
                    server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"]
                )
                s3.create_bucket(Bucket=BUCKET)
                s3.put_object(Bucket=BUCKET, Key="code/train.py", Body=SCRIPT)
                sdk = sdk_client(server)
                first = create_to_running(sdk, engine.name, "first")
                second = create_to_running(sdk, engine.name, "second")
            finally:
                server.close()
            plain = pip_install(engine.packages, Path(folder) / "venv")
        print(f"{engine.name:14s} {first:9.1f}s {second:10.2f}s {plain:11.1f}s", flush=True)


if __name__ == "__main__":
    # Run as a script, this folder is on the path, not the repository's root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
