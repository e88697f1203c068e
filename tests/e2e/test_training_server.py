"""Training on a real server process: a job survives the server being killed mid-run (its
outputs still reach the bucket), and a task's log link works over plain HTTP, for that
file only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from openarts.testing.server import ServerProcess
from tests.e2e.conftest import signed_call
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

FLAVORS = """
flavors:
  - name: test.cpu.small
    vcpus: 0.25
    memory_gib: 0.5
    uses: [training]
"""
ENV = {"OPENARTS_RECONCILE_INTERVAL_S": "0.5"}
JOBS = "/v2/{project_id}/training-jobs"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "flavors.yaml").write_text(FLAVORS)
    return folder


@pytest.fixture
def server(home: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(home, env=ENV).start()
    try:
        yield process
    finally:
        process.close()


def job_body(name: str, bucket: str) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"/{bucket}/code/",
            "boot_file": f"/{bucket}/code/train.py",
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"/{bucket}/out/"}}}],
        },
        "spec": {"resource": {"flavor_id": "test.cpu.small", "node_count": 1}},
    }


# The job's code says it is waiting, then waits for a file the test writes into its log
# folder (the only place of the host it shares with the task).
WAITS_FOR_RELEASE = (
    "import argparse, os, time\n"
    "parser = argparse.ArgumentParser()\n"
    "parser.add_argument('--train_url')\n"
    "args, _ = parser.parse_known_args()\n"
    "print('waiting for the release', flush=True)\n"
    "open(os.path.join(os.environ['MA_LOG_DIR'], 'started'), 'w').write('x')\n"
    "deadline = time.time() + 120\n"
    "release = os.path.join(os.environ['MA_LOG_DIR'], 'release')\n"
    "while not os.path.exists(release) and time.time() < deadline:\n"
    "    time.sleep(0.05)\n"
    "open(os.path.join(args.train_url, 'model.txt'), 'w').write('trained')\n"
    "print('done', flush=True)\n"
)


def log_folders(home: Path, job_id: str) -> list[Path]:
    return sorted((home / "training" / job_id).glob("*/*/modelarts/log"))


def release(home: Path, job_id: str) -> None:
    for folder in log_folders(home, job_id):
        (folder / "release").write_text("go")


def wait_phase(server: ServerProcess, job_id: str, *phases: str, within_s: float = 60) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        answer = signed_call(server, "GET", f"{JOBS}/{job_id}")
        assert answer.status_code == 200, answer.text
        job = answer.json()
        if job["status"]["phase"] in phases:
            return job
        assert time.monotonic() < deadline, job["status"]
        time.sleep(0.2)


def test_a_job_completes_and_uploads_after_the_server_is_killed_mid_run(
    server: ServerProcess, home: Path
) -> None:
    s3 = admin_s3(server)
    # The platform's own bucket (log links) is never a project's.
    with pytest.raises(ClientError) as refused:
        s3.create_bucket(Bucket="openarts-system")
    assert refused.value.response["Error"]["Code"] == "BucketAlreadyExists"
    s3.create_bucket(Bucket="survive")
    s3.put_object(Bucket="survive", Key="code/train.py", Body=WAITS_FOR_RELEASE.encode())
    created = signed_call(server, "POST", JOBS, job_body("survivor", "survive"))
    assert created.status_code == 201, created.text
    job_id = created.json()["metadata"]["id"]
    wait_phase(server, job_id, "Running")
    deadline = time.monotonic() + 30
    preview = f"{JOBS}/{job_id}/tasks/worker-0/logs/preview"
    while "waiting for the release" not in signed_call(server, "GET", preview).json()["content"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # A log link, fetched with no credentials at all.
    link = signed_call(server, "GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/url")
    assert link.status_code == 200, link.text
    url = link.json()["obs_url"]
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    assert "waiting for the release" in fetched.text
    assert requests.get(url.replace("worker-0", "worker-1"), timeout=10).status_code == 403

    assert server.process is not None
    server.process.kill()
    server.process.wait()
    release(home, job_id)  # the task ends while no server runs
    again = ServerProcess(home, env=ENV, port=server.port, obs_port=server.obs_port).start()
    try:
        job = wait_phase(again, job_id, "Completed", "Failed")
        assert job["status"]["phase"] == "Completed", job["status"]
        model = admin_s3(again).get_object(Bucket="survive", Key="out/model.txt")
        assert model["Body"].read() == b"trained"
    finally:
        again.close()


def test_a_task_started_but_not_recorded_at_a_crash_is_adopted_not_run_again(home: Path) -> None:
    # The server dies (SIGKILL, from a crash point) after the task has started and before
    # its handle is committed; the next start finds the task and adopts it.
    crashing = ServerProcess(home, env={**ENV, "OPENARTS_TEST_FAULT": "started-not-recorded"})
    crashing.start()
    try:
        s3 = admin_s3(crashing)
        s3.create_bucket(Bucket="once")
        s3.put_object(Bucket="once", Key="code/train.py", Body=WAITS_FOR_RELEASE.encode())
        created = signed_call(crashing, "POST", JOBS, job_body("once", "once"))
        assert created.status_code == 201, created.text
        job_id = created.json()["metadata"]["id"]
        assert crashing.process is not None
        assert crashing.process.wait(timeout=60) == -9  # killed at the crash point
        crashing.process = None
        deadline = time.monotonic() + 30
        while not any((f / "started").exists() for f in log_folders(home, job_id)):
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.05)
    except BaseException:
        crashing.close()
        raise
    again = ServerProcess(home, env=ENV, port=crashing.port, obs_port=crashing.obs_port).start()
    try:
        wait_phase(again, job_id, "Running")
        # One run: one attempt's folder, and no retry or loss in its events.
        assert len(log_folders(home, job_id)) == 1
        release(home, job_id)
        job = wait_phase(again, job_id, "Completed", "Failed")
        assert job["status"]["phase"] == "Completed", job["status"]
        answer = signed_call(again, "GET", f"{JOBS}/{job_id}/events")
        assert answer.status_code == 200, answer.text
        events = answer.json()
        messages = " ".join(e["message"] for e in events["events"])
        assert "never started" not in messages and "Retry" not in messages
        assert "adopted 1 task(s) started before a restart" in again.log()
    finally:
        again.close()
