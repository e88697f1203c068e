"""A training job on a container image (``engine.image_url`` and a ``command``): its code
runs in the image's system, in the same sandbox as a preset engine's (ma-user, uid 1000;
ModelArts' paths; its input in, its output out; none of the server's home), and an image
the node does not have and cannot pull fails the job with the registry's answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from openarts.testing.images import base_image, image_without_ma_user, require_tools
from openarts.testing.server import ServerProcess
from tests.e2e.conftest import signed_call
from tests.e2e.test_training_server import FLAVORS, JOBS, wait_phase
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

require_tools()

BUCKET = "images"
# The job's code: what it sees of itself and the machine, and its input doubled out.
TRAIN = """
import argparse, json, os, pathlib, socket
parser = argparse.ArgumentParser()
parser.add_argument("--data_url")
parser.add_argument("--train_url")
args, _ = parser.parse_known_args()
number = int(pathlib.Path(args.data_url, "x.txt").read_text())
pathlib.Path(args.train_url, "y.txt").write_text(str(2 * number))
def reaches(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False
def writes(path):
    try:
        open(path, "w").close()
        return True
    except OSError:
        return False
print(json.dumps({
    "api_reached": reaches(int(os.environ["API_PORT"])),
    "system_writable": writes("/usr/bin/planted"),
    "processes": sum(name.isdigit() for name in os.listdir("/proc")),
    "uid": os.getuid(),
    "user": os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name,
    "debian": pathlib.Path("/etc/debian_version").read_text().strip(),
    "home_seen": os.path.exists(os.environ["HOME_TO_HIDE"]),
    "cwd": os.getcwd(),
    "data_url": args.data_url,
    "lang": os.environ.get("LANG"),
    "ma_job_dir": os.environ.get("MA_JOB_DIR"),
}), flush=True)
"""


@pytest.fixture(scope="module")
def image() -> str:
    return base_image()


@contextmanager
def serving(home: Path, code: str, **env: str) -> Iterator[ServerProcess]:
    """A server (``env`` added to its variables) with a training flavor, ``code`` as
    train.py in the bucket and 21 as its input."""
    home.mkdir(parents=True)
    (home / "flavors.yaml").write_text(FLAVORS)
    process = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.5", **env}).start()
    try:
        s3 = admin_s3(process)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="code/train.py", Body=code.encode())
        s3.put_object(Bucket=BUCKET, Key="data/x.txt", Body=b"21")
        yield process
    finally:
        process.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with serving(tmp_path / "home", TRAIN) as process:
        yield process


def body(name: str, image_url: str, server: ServerProcess) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"/{BUCKET}/code/",
            "command": "python3 train.py",
            "engine": {"image_url": image_url},
            "environments": {"HOME_TO_HIDE": str(server.home), "API_PORT": str(server.port)},
            "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/data/"}}}],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/out/"}}}],
        },
        "spec": {"resource": {"flavor_id": "test.cpu.small", "node_count": 1}},
    }


def test_a_job_runs_its_command_in_the_image_with_its_data(
    server: ServerProcess, image: str
) -> None:
    health = httpx.get(f"{server.endpoint}/health").json()
    assert health["images"]["enabled"] is True and "podman" in health["images"]["summary"]
    assert "images     : podman" in server.log()  # the banner says it too
    created = signed_call(server, "POST", JOBS, body("in-image", image, server))
    assert created.status_code == 201, created.text
    job_id = created.json()["metadata"]["id"]
    job = wait_phase(server, job_id, "Completed", "Failed", within_s=120)
    assert job["status"]["phase"] == "Completed", job["status"]

    output = admin_s3(server).get_object(Bucket=BUCKET, Key="out/y.txt")["Body"].read()
    assert output == b"42"
    log = signed_call(server, "GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/preview")
    assert log.status_code == 200, log.text
    printed = log.json()["content"].splitlines()
    seen = json.loads(next(line for line in printed if line.startswith("{")))
    # The image's system (Debian's, with its own Python), as ModelArts' user.
    assert seen["uid"] == 1000 and seen["user"] == "ma-user"
    assert seen["debian"].startswith("12")
    assert seen["lang"] == "C.UTF-8"  # the image's own variables reach the task
    # ModelArts' paths, and nothing of the server's home.
    assert seen["data_url"].startswith("/home/ma-user/modelarts/inputs/")
    assert seen["cwd"].startswith("/home/ma-user/modelarts/user-job-dir")
    assert seen["home_seen"] is False
    # The sandbox's other walls hold over an image too: not the API, not the image's
    # system, no process but its own.
    assert seen["api_reached"] is False
    assert seen["system_writable"] is False
    assert seen["processes"] < 10


def test_an_image_that_cannot_be_pulled_fails_the_job_with_the_reason(
    server: ServerProcess, image: str
) -> None:
    # A registry on a loopback port where nothing listens: the pull's answer is the reason.
    gone = "127.0.0.1:9/nobody/nothing:1"
    created = signed_call(server, "POST", JOBS, body("no-image", gone, server))
    assert created.status_code == 201, created.text
    job = wait_phase(server, created.json()["metadata"]["id"], "Failed", within_s=120)
    events = signed_call(server, "GET", f"{JOBS}/{job['metadata']['id']}/events")
    said = json.dumps(job["status"]) + events.text
    assert gone in said and "connection refused" in said.lower(), said


# A gang's two tasks meet over MASTER_ADDR:MASTER_PORT, as torch.distributed does: rank
# 0 listens, rank 1 says hello.
MEET = """
import os, socket, time
rank = int(os.environ["VC_TASK_INDEX"])
address = (os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
if rank == 0:
    server = socket.create_server(address)
    server.settimeout(60)
    peer, _ = server.accept()
    print("rank 0 heard:", peer.recv(100).decode(), flush=True)
else:
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(address, timeout=5).sendall(b"hello from rank 1")
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    print("rank 1 said hello", flush=True)
"""


def test_a_gang_of_two_meets_in_the_image(server: ServerProcess, image: str) -> None:
    admin_s3(server).put_object(Bucket=BUCKET, Key="code/meet.py", Body=MEET.encode())
    gang = body("gang-in-image", image, server)
    gang["algorithm"]["command"] = "python3 meet.py"
    gang["spec"]["resource"]["node_count"] = 2
    created = signed_call(server, "POST", JOBS, gang)
    assert created.status_code == 201, created.text
    job_id = created.json()["metadata"]["id"]
    job = wait_phase(server, job_id, "Completed", "Failed", within_s=120)
    assert job["status"]["phase"] == "Completed", job["status"]
    heard = signed_call(server, "GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/preview")
    assert "rank 0 heard: hello from rank 1" in heard.json()["content"]


def test_an_image_without_ma_user_is_refused_with_the_reason(server: ServerProcess) -> None:
    broken = image_without_ma_user()
    created = signed_call(server, "POST", JOBS, body("no-ma-user", broken, server))
    assert created.status_code == 201, created.text
    job = wait_phase(server, created.json()["metadata"]["id"], "Failed", within_s=120)
    said = json.dumps(job["status"])
    assert broken in said and "no user with uid 1000 (ma-user)" in said, said
