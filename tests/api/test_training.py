"""Training jobs through the API, run for real by the local backend: code and data in from
the object store, outputs and logs back, phases, failures, termination, retries."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psutil
import pytest
from sqlalchemy import delete

from openarts.db.tables import Image, TrainingJob, TrainingSample
from openarts.runtime.stacked_envs import server_layers
from openarts.services import buckets
from openarts.storage.base import one_chunk, read_all
from openarts.storage.presign import EXPIRES_PARAM, SIGNATURE_PARAM
from openarts.testing.factories import add_user
from tests.conftest import Api, make_settings, start_api

FLAVOR = "test.cpu.small"
FLAVORS = f"""
flavors:
  - name: {FLAVOR}
    vcpus: 0.25
    memory_gib: 0.5
    uses: [training]
  - name: test.pool.half
    vcpus: 0.5
    memory_gib: 1
    uses: [pool]
  - name: test.cpu.vast
    vcpus: 1
    memory_gib: 4096
    uses: [training]
"""
BUCKET = "train-data"
JOBS = "/v2/{project_id}/training-jobs"

TRAIN = """
import argparse, json, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--data_url")
parser.add_argument("--train_url")
parser.add_argument("--epochs", type=int, default=1)
args, _ = parser.parse_known_args()
print("training starts", args.epochs, os.environ["MA_NUM_HOSTS"], os.environ["VC_TASK_INDEX"])
rows = [line.split(",") for line in open(os.path.join(args.data_url, "iris.csv"))]
centroids = {}
for *features, label in rows:
    total = centroids.setdefault(label.strip(), [0.0] * (len(features) + 1))
    for i, value in enumerate(features):
        total[i] += float(value)
    total[-1] += 1
model = {k: [v / t[-1] for v in t[:-1]] for k, t in centroids.items()}
with open(os.path.join(args.train_url, "model.json"), "w") as out:
    json.dump(model, out)
print("model written with", len(model), "classes")
"""
IRIS = "5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n"


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    settings = make_settings(
        home, database_url, reconcile_interval_s=0.5, training_sample_interval_s=0.2
    )
    async for started in start_api(settings):
        await _bucket(started, BUCKET)
        yield started


async def _bucket(api: Api, name: str) -> None:
    await api.platform.store.create_bucket(name)
    async with api.platform.db.session() as session, session.begin():
        await buckets.record_bucket(session, name=name, project_id=api.project_id)


async def put(api: Api, key: str, text: str) -> None:
    await api.platform.store.write(BUCKET, key, one_chunk(text.encode()))


def job_body(name: str, **algorithm: Any) -> dict[str, Any]:
    spec: dict[str, Any] = algorithm.pop("spec", {})
    annotations = algorithm.pop("annotations", None)
    body: dict[str, Any] = {
        "kind": "job",
        "metadata": {"name": name, "description": "a test job"},
        "algorithm": {
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/train.py",
            "engine": {"engine_name": "Python"},
            "parameters": [{"name": "epochs", "value": "3"}],
            "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/data/"}}}],
            "outputs": [
                {"name": "train_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/out/{name}/"}}}
            ],
            **algorithm,
        },
        "spec": {"resource": {"flavor_id": FLAVOR, "node_count": 1}, **spec},
    }
    if annotations:
        body["metadata"]["annotations"] = annotations
    return body


async def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.call("POST", JOBS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def show(api: Api, job_id: str) -> dict[str, Any]:
    response = await api.call("GET", f"{JOBS}/{job_id}")
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


async def wait_for(api: Api, job_id: str, *phases: str, within_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        job = await show(api, job_id)
        if job["status"]["phase"] in phases:
            return job
        # Whole, with the tasks' reasons (a dict would be cut short in the report).
        assert time.monotonic() < deadline, json.dumps(job["status"], indent=1)
        await asyncio.sleep(0.2)


# What a job's code writes when it has got going: a file in its own log folder (it sees
# nothing of the host's, tests included, from its sandbox).
STARTED = "open(os.path.join(os.environ['MA_LOG_DIR'], 'started'), 'w').write('x')"


def log_folders(api: Api, job_id: str) -> list[Path]:
    """Every task's log folder of every attempt of the job, as the host sees them."""
    return sorted((api.platform.settings.home / "training" / job_id).glob("*/*/modelarts/log"))


async def job_wrote(api: Api, job_id: str, name: str = "started", within_s: float = 30) -> None:
    """Wait for a file the job's code writes in its log folder."""
    deadline = time.monotonic() + within_s
    while not any((folder / name).exists() for folder in log_folders(api, job_id)):
        assert time.monotonic() < deadline, f"job {job_id} never wrote {name}"
        await asyncio.sleep(0.05)


def release(api: Api, *job_ids: str) -> None:
    """Let jobs whose code waits for a 'release' file in its log folder end."""
    for job_id in job_ids:
        for folder in log_folders(api, job_id):
            (folder / "release").write_text("go")


def processes_of(job_id: str) -> list[int]:
    """Live processes running a task of the job: their command names its folder, or (in
    a sandbox, where the paths are ModelArts') their environment names the job."""
    found = []
    wanted = f"MA_VJ_NAME=modelarts-job-{job_id}".encode()
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if any(job_id in part for part in process.info["cmdline"] or []):
            found.append(process.pid)
            continue
        try:
            with open(f"/proc/{process.pid}/environ", "rb") as environ:
                if wanted in environ.read().split(b"\0"):
                    found.append(process.pid)
        except OSError:
            continue
    return found


async def events(api: Api, job_id: str) -> list[str]:
    response = await api.call("GET", f"{JOBS}/{job_id}/events?order=asc&limit=100")
    assert response.status_code == 200, response.text
    return [e["message"] for e in response.json()["events"]]


async def test_a_job_runs_with_data_in_and_model_out(api: Api) -> None:
    await put(api, "code/train.py", TRAIN)
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("iris"))
    assert created["status"]["phase"] in ("Creating", "Pending")
    assert created["status"]["tasks"] == ["worker-0"]
    assert created["spec"]["resource"]["flavor_id"] == FLAVOR
    job = await wait_for(api, created["metadata"]["id"], "Completed", "Failed")
    assert job["status"]["phase"] == "Completed", job["status"]
    assert job["status"]["secondary_phase"] == "Completed"
    assert job["status"]["task_statuses"] == [
        {"task": "worker-0", "exit_code": 0, "message": "succeeded"}
    ]
    assert job["status"]["duration"] >= 0 and job["status"]["start_time"] > 0
    model = await read_all(api.platform.store, BUCKET, "out/iris/model.json")
    assert b"setosa" in model and b"virginica" in model
    preview = await api.call("GET", f"{JOBS}/{job['metadata']['id']}/tasks/worker-0/logs/preview")
    assert preview.status_code == 200
    log = preview.json()
    assert "training starts 3 1 0" in log["content"]
    assert "model written with 3 classes" in log["content"]
    assert log["current_size"] == log["full_size"] == len(log["content"].encode())
    messages = await events(api, job["metadata"]["id"])
    assert any("code from obs://train-data/code/" in m for m in messages), messages
    assert any("input data_url from obs://train-data/data/: 1 file(s)" in m for m in messages)
    assert any("output train_url to obs://train-data/out/iris/: 1 file(s)" in m for m in messages)
    assert any(m.startswith("[JobCompleted]") for m in messages)


async def test_a_failing_script_fails_the_job_with_its_exit_code_and_log(api: Api) -> None:
    await put(api, "code/train.py", "print('about to fail')\nraise SystemExit(3)\n")
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("fails"))
    job = await wait_for(api, created["metadata"]["id"], "Completed", "Failed")
    assert job["status"]["phase"] == "Failed"
    [status] = job["status"]["task_statuses"]
    assert status["exit_code"] == 3
    assert "exit code 3" in status["message"] and "about to fail" in status["message"]


async def test_retries_follow_the_annotations(api: Api) -> None:
    await put(api, "code/train.py", "raise SystemExit(1)\n")
    await put(api, "data/iris.csv", IRIS)
    body = job_body(
        "retried",
        annotations={
            "fault-tolerance/job-retry-num": "2",
            "fault-tolerance/job-unconditional-retry": "true",
        },
    )
    created = await create(api, body)
    job = await wait_for(api, created["metadata"]["id"], "Completed", "Failed")
    assert job["status"]["phase"] == "Failed"
    messages = await events(api, created["metadata"]["id"])
    retries = [m for m in messages if m.startswith("[Retry]")]
    assert len(retries) == 2, messages
    assert "retry 2 of 2" in retries[-1]


async def test_an_exit_code_is_not_retried_without_the_unconditional_annotation(
    api: Api,
) -> None:
    await put(api, "code/train.py", "raise SystemExit(1)\n")
    await put(api, "data/iris.csv", IRIS)
    body = job_body("once", annotations={"fault-tolerance/job-retry-num": "2"})
    created = await create(api, body)
    await wait_for(api, created["metadata"]["id"], "Failed")
    assert not [m for m in await events(api, created["metadata"]["id"]) if "[Retry]" in m]


async def test_terminate_stops_the_code(api: Api) -> None:
    await put(
        api,
        "code/train.py",
        f"import os, time\n{STARTED}\ntime.sleep(600)\n",
    )
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("stopped"))
    job_id = created["metadata"]["id"]
    await wait_for(api, job_id, "Running")
    await job_wrote(api, job_id)
    answer = await api.call("POST", f"{JOBS}/{job_id}/actions", json={"action_type": "terminate"})
    assert answer.status_code == 202, answer.text
    job = await wait_for(api, job_id, "Terminated", "Failed", "Completed")
    assert job["status"]["phase"] == "Terminated"
    assert processes_of(job_id) == []
    again = await api.call("POST", f"{JOBS}/{job_id}/actions", json={"action_type": "terminate"})
    assert again.status_code == 400
    assert "already ended" in again.json()["error_msg"]


async def test_a_missing_input_fails_the_job_naming_it(api: Api) -> None:
    await put(api, "code/train.py", TRAIN)
    body = job_body("no-data")
    body["algorithm"]["inputs"][0]["remote"]["obs"]["obs_url"] = f"/{BUCKET}/nowhere/"
    created = await create(api, body)
    job = await wait_for(api, created["metadata"]["id"], "Failed", "Completed")
    assert job["status"]["phase"] == "Failed"
    [status] = job["status"]["task_statuses"]
    assert "input data_url: obs://train-data/nowhere/ does not exist" in status["message"]


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"boot_file": f"/{BUCKET}/elsewhere/train.py"}, "ModelArts.2758", "not a file inside"),
        ({"engine": {"engine_name": "NoSuchEngine"}}, "ModelArts.2780", "engine catalog"),
        ({"code_dir": None, "boot_file": None}, "ModelArts.2788", "algorithm is missing"),
        (
            {"code_dir": "/not-my-bucket/code/", "boot_file": "/not-my-bucket/code/t.py"},
            "ModelArts.2788",
            "does not exist in this project",
        ),
        ({"environments": {"MA_SECRET": "x"}}, "ModelArts.2788", "MA_"),
        (
            {"boot_file": f"/{BUCKET}/code/%2e%2e/train.py"},
            "ModelArts.2758",
            "'..' segment once percent-decoded",
        ),
        (
            {"code_dir": f"/{BUCKET}/code/%2E%2E/", "boot_file": f"/{BUCKET}/code/%2E%2E/t.py"},
            "ModelArts.2757",
            "'..' segment once percent-decoded",
        ),
    ],
)
async def test_bad_algorithms_are_refused_and_leave_nothing(
    api: Api, change: dict[str, Any], code: str, words: str
) -> None:
    body = job_body("bad")
    body["algorithm"].update(change)
    body["algorithm"] = {k: v for k, v in body["algorithm"].items() if v is not None}
    response = await api.call("POST", JOBS, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == code
    assert words in response.json()["error_msg"]
    listed = await api.call("POST", "/v2/{project_id}/training-job-searches", json={})
    assert listed.json()["total"] == 0


@pytest.mark.parametrize(
    ("resource", "code", "words"),
    [
        ({"flavor_id": "no.such.flavor"}, "ModelArts.2781", "not a training flavor"),
        ({"flavor_id": FLAVOR, "node_count": 0}, "ModelArts.0101", "node_count"),
        # Memory is never promised twice: each node runs capped at the host, and two such
        # nodes never fit one host.
        ({"flavor_id": "test.cpu.vast", "node_count": 2}, "ModelArts.2788", "can never fit"),
        ({"flavor_id": FLAVOR, "node_count": 17}, "ModelArts.2788", "max_num (16)"),
        ({"flavor_id": FLAVOR, "node_count": 10**7}, "ModelArts.2788", "max_num (16)"),
        ({"flavor_id": FLAVOR, "node_count": 2**63}, "ModelArts.2788", "max_num (16)"),
    ],
)
async def test_bad_resources_are_refused(
    api: Api, resource: dict[str, Any], code: str, words: str
) -> None:
    response = await api.call("POST", JOBS, json=job_body("bad", spec={"resource": resource}))
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == code
    assert words in response.json()["error_msg"]


async def test_huge_node_counts_are_refused_while_health_keeps_answering(api: Api) -> None:
    """The bound is checked before anything the size of node_count is built: the loop
    stays free (the /health latencies seen meanwhile are printed, not judged)."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            answer = await api.call("GET", "/health")
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
            await asyncio.sleep(0.005)

    prober = asyncio.create_task(probe())
    for count in (10**7, 2**63, 10**7, 2**63) * 5:
        body = job_body("huge", spec={"resource": {"flavor_id": FLAVOR, "node_count": count}})
        refused = await api.call("POST", JOBS, json=body)
        assert refused.status_code == 400, refused.text
        assert "max_num (16)" in refused.json()["error_msg"]
    done.set()
    await prober
    assert latencies
    print(f"/health while refusing: max {max(latencies):.1f} ms over {len(latencies)} calls")


async def test_algorithms_make_jobs_and_guard_their_hyperparameters(api: Api) -> None:
    await put(api, "code/train.py", TRAIN)
    await put(api, "data/iris.csv", IRIS)
    algorithm = {
        "metadata": {"name": "iris-centroids"},
        "job_config": {
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/train.py",
            "engine": {"engine_id": "python-builtin"},
            "parameters": [
                {
                    "name": "epochs",
                    "value": "2",
                    "constraint": {
                        "type": "Integer",
                        "editable": True,
                        "required": True,
                        "valid_type": "Range",
                        "valid_range": ["1", "10"],
                    },
                }
            ],
            "inputs": [{"name": "data_url"}],
            "outputs": [{"name": "train_url"}],
        },
    }
    made = await api.call("POST", "/v2/{project_id}/algorithms", json=algorithm)
    assert made.status_code == 201, made.text
    algorithm_id = made.json()["metadata"]["id"]
    twice = await api.call("POST", "/v2/{project_id}/algorithms", json=algorithm)
    assert twice.json()["error_code"] == "ModelArts.2752"

    def from_algorithm(name: str, epochs: str) -> dict[str, Any]:
        body = job_body(name)
        channels = {k: body["algorithm"][k] for k in ("inputs", "outputs")}
        body["algorithm"] = {
            "id": algorithm_id,
            "parameters": [{"name": "epochs", "value": epochs}],
            **channels,
        }
        return body

    too_many = await api.call("POST", JOBS, json=from_algorithm("too-many", "11"))
    assert too_many.status_code == 400
    assert "between 1 and 10" in too_many.json()["error_msg"]
    created = await create(api, from_algorithm("from-algorithm", "7"))
    assert created["algorithm"]["id"] == algorithm_id
    refused = await api.call("DELETE", f"/v2/{{project_id}}/algorithms/{algorithm_id}")
    if refused.status_code == 400:  # the job had not ended yet
        assert "used by training job from-algorithm" in refused.json()["error_msg"]
    job = await wait_for(api, created["metadata"]["id"], "Completed", "Failed")
    assert job["status"]["phase"] == "Completed", job["status"]
    log = await api.call("GET", f"{JOBS}/{created['metadata']['id']}/tasks/worker-0/logs/preview")
    assert "training starts 7" in log.json()["content"]
    listed = await api.call("GET", "/v2/{project_id}/algorithms?searches=name:centroid")
    assert [a["metadata"]["name"] for a in listed.json()["items"]] == ["iris-centroids"]
    gone = await api.call("DELETE", f"/v2/{{project_id}}/algorithms/{algorithm_id}")
    assert gone.status_code == 202


async def test_flavors_and_engines_are_listed(api: Api) -> None:
    flavors = await api.call("GET", "/v2/{project_id}/training-job-flavors?flavor_type=CPU")
    assert [f["flavor_id"] for f in flavors.json()["flavors"]] == [FLAVOR, "test.cpu.vast"]
    engines = (await api.call("GET", "/v2/{project_id}/training-job-engines")).json()
    builtin = next(e for e in engines["items"] if e["engine_id"] == "python-builtin")
    assert (
        builtin["engine_version"]
        == f"python_{sys.version_info.major}.{sys.version_info.minor}-builtin"
    )


async def test_searches_filter_sort_and_page(api: Api) -> None:
    await put(api, "code/train.py", "pass\n")
    await put(api, "data/iris.csv", IRIS)
    for name in ("alpha", "beta", "gamma"):
        await create(api, job_body(name))
    search = await api.call(
        "POST",
        "/v2/{project_id}/training-job-searches",
        json={
            "limit": 2,
            "offset": 0,
            "sort_by": "create_time",
            "order": "asc",
            "filters": [{"key": "name", "operator": "like", "value": ["a"]}],
        },
    )
    body = search.json()
    assert body["total"] == 3 and body["count"] == 2
    assert [j["metadata"]["name"] for j in body["items"]] == ["alpha", "beta"]
    bad_sort = await api.call(
        "POST", "/v2/{project_id}/training-job-searches", json={"sort_by": "colour"}
    )
    assert bad_sort.json()["error_code"] == "ModelArts.2790"


async def test_metrics_and_a_log_link_while_it_runs(api: Api) -> None:
    busy = (
        "import os, time\n"
        "print('working', flush=True)\n"
        f"{STARTED}\n"
        "end = time.time() + 1.5\n"
        "while time.time() < end:\n"
        "    sum(range(10000))\n"
    )
    await put(api, "code/train.py", busy)
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("measured"))
    job_id = created["metadata"]["id"]
    await job_wrote(api, job_id)
    link = await api.call("GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/url")
    assert link.status_code == 200, link.text
    url = urlsplit(link.json()["obs_url"])
    query = dict(parse_qsl(url.query))
    bucket, _, key = url.path.lstrip("/").partition("/")
    expires = int(query[EXPIRES_PARAM])
    assert 290 <= expires - time.time() <= 300
    presigner = api.platform.presigner
    assert presigner.check("GET", bucket, key, str(expires), query[SIGNATURE_PARAM]) is None
    # Signed for that one file, until that time.
    other = key.replace("worker-0", "worker-1")
    assert presigner.check("GET", bucket, other, str(expires), query[SIGNATURE_PARAM])
    assert presigner.check("GET", bucket, key, str(expires + 60), query[SIGNATURE_PARAM])
    assert b"working" in await read_all(api.platform.store, bucket, key)
    job = await wait_for(api, job_id, "Completed", "Failed")
    assert job["status"]["phase"] == "Completed"
    answer = await api.call("GET", f"{JOBS}/{job_id}/metrics/worker-0")
    assert answer.status_code == 200, answer.text
    metrics = {m["metric"]: m["value"] for m in answer.json()["metrics"]}
    assert set(metrics) == {
        "cpuUsage",
        "memUsage",
        "gpuUtil",
        "gpuMemUsage",
        "npuUtil",
        "npuMemUsage",
    }
    assert len(metrics["cpuUsage"]) == 1
    assert metrics["cpuUsage"][0] > 0 and metrics["memUsage"][0] > 0
    assert metrics["gpuUtil"] == [-1] and metrics["npuUtil"] == [-1]
    missing = await api.call("GET", f"{JOBS}/{job_id}/metrics/worker-7")
    assert missing.status_code == 400


RENDEZVOUS = """
import os, socket, time
rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
address, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
env = os.environ
print("hosts", env["VC_WORKER_HOSTS"], env["MA_NUM_HOSTS"], env["VC_TASK_INDEX"])
if rank == 0:
    with socket.create_server((address, port)) as server:
        connection, _ = server.accept()
        print("rank 0 got:", connection.recv(100).decode())
        connection.sendall(b"ack")
else:
    deadline = time.time() + 30
    while True:
        try:
            connection = socket.create_connection((address, port))
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    connection.sendall(f"hello from rank {rank} of {size}".encode())
    print("rank 1 got:", connection.recv(100).decode())
"""


async def log_of(api: Api, job_id: str, task: str) -> str:
    response = await api.call("GET", f"{JOBS}/{job_id}/tasks/{task}/logs/preview")
    assert response.status_code == 200, response.text
    content: str = response.json()["content"]
    return content


async def test_a_two_node_gang_meets_at_its_rendezvous(api: Api) -> None:
    await put(api, "code/train.py", RENDEZVOUS)
    await put(api, "data/iris.csv", IRIS)
    body = job_body("gang", spec={"resource": {"flavor_id": FLAVOR, "node_count": 2}})
    created = await create(api, body)
    assert created["status"]["tasks"] == ["worker-0", "worker-1"]
    job = await wait_for(api, created["metadata"]["id"], "Completed", "Failed")
    assert job["status"]["phase"] == "Completed", job["status"]
    first = await log_of(api, created["metadata"]["id"], "worker-0")
    second = await log_of(api, created["metadata"]["id"], "worker-1")
    assert "rank 0 got: hello from rank 1 of 2" in first
    assert "rank 1 got: ack" in second
    assert "hosts 127.0.0.1,127.0.0.1 2 0" in first and "hosts 127.0.0.1,127.0.0.1 2 1" in second


async def test_a_failed_gang_member_stops_the_others(api: Api) -> None:
    script = (
        "import os, sys, time\n"
        "if os.environ['RANK'] == '1':\n"
        "    sys.exit(5)\n"
        f"{STARTED}\n"
        "time.sleep(600)\n"
    )
    await put(api, "code/train.py", script)
    await put(api, "data/iris.csv", IRIS)
    body = job_body("half", spec={"resource": {"flavor_id": FLAVOR, "node_count": 2}})
    created = await create(api, body)
    job = await wait_for(api, created["metadata"]["id"], "Completed", "Failed")
    assert job["status"]["phase"] == "Failed"
    statuses = {s["task"]: s for s in job["status"]["task_statuses"]}
    assert statuses["worker-1"]["exit_code"] == 5
    assert "worker-1 failed: exit code 5" in statuses["worker-1"]["message"]
    # The other member is stopped (SIGTERM, then SIGKILL after the grace period).
    deadline = time.monotonic() + 30
    while processes_of(created["metadata"]["id"]):
        assert time.monotonic() < deadline, "the other gang member outlived the failure"
        await asyncio.sleep(0.05)


async def test_a_full_dedicated_pool_queues_the_next_job(api: Api, tmp_path: Path) -> None:
    network = await api.call(
        "POST",
        "/v1/{project_id}/networks",
        json={
            "apiVersion": "v1",
            "kind": "Network",
            "metadata": {"labels": {"os.modelarts/name": "net-train"}},
            "spec": {"cidr": "192.168.7.0/24"},
        },
    )
    assert network.status_code == 200, network.text
    pool = await api.call(
        "POST",
        "/v2/{project_id}/pools",
        json={
            "apiVersion": "v2",
            "kind": "Pool",
            "metadata": {"labels": {"os.modelarts/name": "train-pool"}},
            "spec": {
                "type": "Dedicate",
                "resources": [{"flavor": "test.pool.half", "count": 1}],
                "network": {"name": network.json()["metadata"]["name"]},
            },
        },
    )
    assert pool.status_code == 200, pool.text
    pool_id = pool.json()["metadata"]["name"]
    deadline = time.monotonic() + 30
    while (await api.call("GET", f"/v2/{{project_id}}/pools/{pool_id}")).json()["status"][
        "phase"
    ] != "Running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    await put(
        api,
        "code/train.py",
        "import os, time\n"
        f"{STARTED}\n"
        "deadline = time.time() + 60\n"
        "release = os.path.join(os.environ['MA_LOG_DIR'], 'release')\n"
        "while not os.path.exists(release) and time.time() < deadline:\n"
        "    time.sleep(0.05)\n",
    )
    await put(api, "data/iris.csv", IRIS)
    in_pool = {"flavor_id": FLAVOR, "node_count": 2, "pool_id": pool_id}
    first = await create(api, job_body("fills-the-pool", spec={"resource": in_pool}))
    await wait_for(api, first["metadata"]["id"], "Running")
    second = await create(api, job_body("waits", spec={"resource": {**in_pool, "node_count": 1}}))
    waiting = await wait_for(api, second["metadata"]["id"], "Pending")
    assert waiting["status"]["secondary_phase"] == "Queuing"
    deadline = time.monotonic() + 30
    while not any("waiting for" in m for m in await events(api, second["metadata"]["id"])):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert (await show(api, second["metadata"]["id"]))["status"]["phase"] == "Pending"
    release(api, first["metadata"]["id"])
    await wait_for(api, second["metadata"]["id"], "Running", "Completed", "Failed")
    await job_wrote(api, second["metadata"]["id"], "started")
    release(api, second["metadata"]["id"])
    for job in (first, second):
        done = await wait_for(api, job["metadata"]["id"], "Completed", "Failed")
        assert done["status"]["phase"] == "Completed", done["status"]


async def test_events_filter_by_level_pattern_and_time(api: Api) -> None:
    await put(api, "code/train.py", "raise SystemExit(2)\n")
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("filtered"))
    job_id = created["metadata"]["id"]
    await wait_for(api, job_id, "Failed")
    url = f"{JOBS}/{job_id}/events"
    warnings = (await api.call("GET", url + "?level=Warning")).json()["events"]
    assert warnings and all(e["level"] == "Warning" for e in warnings)
    matched = (await api.call("GET", url + "?pattern=DATA_URL")).json()["events"]
    assert matched and all("data_url" in e["message"] for e in matched)
    assert (await api.call("GET", url + "?source=K8S")).json()["events"] == []
    window = "?start_time=2000-01-01T00:00:00Z&end_time=2000-01-02T00:00:00Z"
    assert (await api.call("GET", url + window)).json()["total"] == 0
    odd = await api.call("GET", url + "?start_time=yesterday&end_time=today")
    assert odd.status_code == 400 and "ISO 8601" in odd.json()["error_msg"]
    # A digit that int() refuses (superscript three): refused with the reason, not a 500.
    digit_like = await api.call("GET", url + "?start_time=%C2%B3&end_time=5")
    assert digit_like.status_code == 400 and "ISO 8601" in digit_like.json()["error_msg"]
    kept = await api.call("PUT", f"{JOBS}/{job_id}", json={})
    assert kept.status_code == 200
    assert (await show(api, job_id))["metadata"]["description"] == "a test job"


TORCH_DDP = """
import torch
import torch.distributed as dist
dist.init_process_group("gloo")
value = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(value)
print(f"rank {dist.get_rank()} of {dist.get_world_size()}: all_reduce sum = {value.item()}")
dist.destroy_process_group()
"""


# What this test checks does not depend on the database: one dialect is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_two_tasks_meet_over_torch_distributed(
    tmp_path: Path, database_url: str, engine_cache: Path
) -> None:
    home = tmp_path / "torch-home"
    home.mkdir()
    (home / "flavors.yaml").write_text(
        "flavors:\n  - {name: test.cpu.torch, vcpus: 0.5, memory_gib: 2, uses: [training]}\n"
    )
    settings = make_settings(
        home, database_url, reconcile_interval_s=0.5, engine_cache=engine_cache
    )
    async for api in start_api(settings):
        await _bucket(api, BUCKET)
        await put(api, "code/train.py", TORCH_DDP)
        await put(api, "data/iris.csv", IRIS)
        body = job_body(
            "ddp",
            engine={"engine_name": "PyTorch"},
            spec={"resource": {"flavor_id": "test.cpu.torch", "node_count": 2}},
        )
        created = await create(api, body)
        job_id = created["metadata"]["id"]
        # The engine is prepared on first use (phase Creating), then the gang runs.
        job = await wait_for(api, job_id, "Completed", "Failed", within_s=540)
        if job["status"]["secondary_phase"] == "CreateFailed":
            pytest.skip(f"PyTorch is unavailable here: {job['status']['task_statuses']}")
        assert job["status"]["phase"] == "Completed", job["status"]
        for rank in (0, 1):
            log = await log_of(api, job_id, f"worker-{rank}")
            assert f"rank {rank} of 2: all_reduce sum = 3.0" in log


async def test_a_command_job_exports_its_log(api: Api) -> None:
    await put(api, "code/train.py", "print('unused')\n")
    await put(api, "data/iris.csv", IRIS)
    body = job_body(
        "by-command",
        spec={"log_export_path": {"obs_url": f"/{BUCKET}/logs/"}},
    )
    algorithm = body["algorithm"]
    del algorithm["boot_file"], algorithm["engine"]
    # Parameters and channels follow the command, as the platform appends them.
    algorithm["command"] = 'ls "$data_url"; echo from the command'
    algorithm["parameters"] = []
    created = await create(api, body)
    job = await wait_for(api, created["metadata"]["id"], "Completed", "Failed")
    assert job["status"]["phase"] == "Completed", job["status"]
    exported = await read_all(
        api.platform.store,
        BUCKET,
        f"logs/modelarts-job-{created['metadata']['id']}-worker-0.log",
    )
    assert b"from the command" in exported and b"iris.csv" in exported


async def failed_for_its_image(api: Api, created: dict[str, Any], image: str) -> str:
    """The reason a job on an image it cannot have ended with: where Podman works, the
    pull's answer (no registry is reachable from these tests); elsewhere, at once, why
    images are not run here."""
    job = await wait_for(api, created["metadata"]["id"], "Failed")
    [status] = job["status"]["task_statuses"]
    message = str(status["message"])
    assert image in message, message
    if api.platform.backend.images_report.enabled:
        assert "registr" in message.lower(), message  # a registry's or registries.conf's say
    else:
        assert job["status"]["secondary_phase"] == "CreateFailed"
        assert api.platform.backend.images_report.summary in message
    return message


async def test_a_container_image_that_cannot_be_had_fails_with_the_reason(api: Api) -> None:
    image = "swr.example/team/train:1"
    created = await create(api, job_body("image", engine={"image_url": image}))
    await failed_for_its_image(api, created, image)


@pytest.mark.parametrize("image", ["--authfile=/etc/shadow", "team/train:1 --quiet", " "])
async def test_an_image_url_that_is_no_reference_is_refused_and_nothing_is_made(
    api: Api, image: str
) -> None:
    # One starting with "-" would reach Podman as an option.
    response = await api.call(
        "POST", JOBS, json=job_body("not-an-image", engine={"image_url": image})
    )
    assert response.status_code == 400, response.text
    assert "is not an image reference" in response.json()["error_msg"]
    listed = await api.call("POST", "/v2/{project_id}/training-job-searches", json={})
    assert listed.json()["total"] == 0


async def test_a_registered_container_image_fails_like_any_container(api: Api) -> None:
    registered = await api.call(
        "POST", "/v1/{project_id}/images", json={"swr_path": "swr.example/team/devbox:2"}
    )
    assert registered.status_code == 200, registered.text
    created = await create(api, job_body("registered", engine={"image_url": "team/devbox:2"}))
    await failed_for_its_image(api, created, "team/devbox:2")


async def test_an_image_still_being_saved_is_refused_and_nothing_is_made(api: Api) -> None:
    async with api.platform.db.session() as session, session.begin():
        session.add(
            saved_image(
                api, "0f6b52a4-3b7a-4c1c-9a57-5b2b4f1a0001", ["/nowhere"], status="CREATING"
            )
        )
    refused = await api.call(
        "POST", JOBS, json=job_body("too-soon", engine={"image_url": "team/probe:v1"})
    )
    assert refused.status_code == 400, refused.text
    assert "is CREATING, not ACTIVE" in refused.json()["error_msg"]
    listed = await api.call("POST", "/v2/{project_id}/training-job-searches", json={})
    assert listed.json()["total"] == 0


def saved_image(api: Api, image_id: str, layers: list[str], status: str = "ACTIVE") -> Image:
    return Image(
        id=image_id,
        project_id=api.project_id,
        name="probe",
        namespace="team",
        tag="v1",
        swr_path="team/probe:v1",
        origin="IMAGE_SAVE",
        service_type="COMMON",
        arch="X86_64",
        visibility="PRIVATE",
        status=status,
        layers=json.dumps(layers),
        created_at=0,
        updated_at=0,
    )


async def test_a_job_from_a_saved_image_imports_its_packages_and_holds_it(
    api: Api, tmp_path: Path
) -> None:
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "layered_probe.py").write_text("VALUE = 'from the layer'\n")
    image_id = "0f6b52a4-3b7a-4c1c-9a57-5b2b4f1a0002"
    async with api.platform.db.session() as session, session.begin():
        session.add(saved_image(api, image_id, [str(layer), *server_layers()]))
    await put(
        api,
        "code/train.py",
        "import os, time, layered_probe\n"
        "print('probe says', layered_probe.VALUE, flush=True)\n"
        f"{STARTED}\n"
        "deadline = time.time() + 60\n"
        "release = os.path.join(os.environ['MA_LOG_DIR'], 'release')\n"
        "while not os.path.exists(release) and time.time() < deadline:\n"
        "    time.sleep(0.05)\n",
    )
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("layered", engine={"image_url": "team/probe:v1"}))
    assert created["status"]["phase"] == "Creating"
    await job_wrote(api, created["metadata"]["id"])
    # A job not ended holds its image.
    held = await api.call("DELETE", f"/v1/{{project_id}}/images/{image_id}")
    assert held.status_code == 400 and "training job" in held.json()["error_msg"], held.text
    release(api, created["metadata"]["id"])
    job = await wait_for(api, created["metadata"]["id"], "Completed", "Failed")
    assert job["status"]["phase"] == "Completed", job["status"]
    log = await api.call("GET", f"{JOBS}/{created['metadata']['id']}/tasks/worker-0/logs/preview")
    assert "probe says from the layer" in log.json()["content"]
    assert (await api.call("DELETE", f"/v1/{{project_id}}/images/{image_id}")).status_code == 200


async def test_deleting_a_running_job_stops_it(api: Api) -> None:
    await put(
        api,
        "code/train.py",
        f"import os, time\n{STARTED}\ntime.sleep(600)\n",
    )
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("deleted"))
    job_id = created["metadata"]["id"]
    await job_wrote(api, job_id)
    assert processes_of(job_id) != []
    gone = await api.call("DELETE", f"{JOBS}/{job_id}")
    assert gone.status_code == 202
    missing = await api.call("GET", f"{JOBS}/{job_id}")
    assert missing.json()["error_code"] == "ModelArts.2775"
    deadline = time.monotonic() + 30
    while processes_of(job_id):
        assert time.monotonic() < deadline, "the deleted job's code still runs"
        await asyncio.sleep(0.05)


async def test_an_algorithm_in_use_cannot_be_deleted(api: Api) -> None:
    await put(
        api,
        "code/train.py",
        "import os, time\n"
        f"{STARTED}\n"
        "deadline = time.time() + 60\n"
        "release = os.path.join(os.environ['MA_LOG_DIR'], 'release')\n"
        "while not os.path.exists(release) and time.time() < deadline:\n"
        "    time.sleep(0.05)\n",
    )
    made = await api.call(
        "POST",
        "/v2/{project_id}/algorithms",
        json={
            "metadata": {"name": "in-use"},
            "job_config": {"code_dir": f"/{BUCKET}/code/", "boot_file": f"/{BUCKET}/code/train.py"},
        },
    )
    algorithm_id = made.json()["metadata"]["id"]
    body = job_body("user")
    body["algorithm"] = {"id": algorithm_id}
    created = await create(api, body)
    refused = await api.call("DELETE", f"/v2/{{project_id}}/algorithms/{algorithm_id}")
    assert refused.status_code == 400
    assert "used by training job user" in refused.json()["error_msg"]
    await job_wrote(api, created["metadata"]["id"], "started")
    release(api, created["metadata"]["id"])
    await wait_for(api, created["metadata"]["id"], "Completed")
    deleted = await api.call("DELETE", f"/v2/{{project_id}}/algorithms/{algorithm_id}")
    assert deleted.status_code == 202


async def test_a_user_without_an_authorization_cannot_create_jobs(api: Api) -> None:
    user = await add_user(api.platform.db, api.platform.box, "newcomer", projects=[api.project_id])
    refused = await api.call("POST", JOBS, json=job_body("unauthorized"), keys=user.keys)
    # The reference's table answers ModelArts.2785 with 403.
    assert refused.status_code == 403, refused.text
    assert refused.json()["error_code"] == "ModelArts.2785"
    listed = await api.call("POST", "/v2/{project_id}/training-job-searches", json={})
    assert listed.json()["total"] == 0


async def test_local_copies_go_once_outputs_are_up_and_with_the_job(api: Api) -> None:
    await put(api, "code/train.py", TRAIN)
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("tidy"))
    job_id = created["metadata"]["id"]
    await wait_for(api, job_id, "Completed")
    folder = api.platform.api.training.root / job_id
    deadline = time.monotonic() + 30
    while await asyncio.to_thread((folder / "0").exists):
        assert time.monotonic() < deadline, "the finished attempt's copies were kept"
        await asyncio.sleep(0.05)
    assert await read_all(api.platform.store, BUCKET, "out/tidy/model.json")
    await api.call("DELETE", f"{JOBS}/{job_id}")
    await api.platform.training_loop.collect_garbage()
    assert not await asyncio.to_thread(folder.exists)


async def test_gpu_samples_become_per_minute_utilisation(api: Api) -> None:
    await put(api, "code/train.py", "pass\n")
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("gpu-metrics"))
    job_id = created["metadata"]["id"]
    await wait_for(api, job_id, "Completed")
    async with api.platform.db.session() as session, session.begin():
        job = await session.get(TrainingJob, job_id)
        assert job is not None and job.started_at is not None
        start = job.started_at
        job.finished_at = start + 2 * 60_000 + 1  # three minutes of run
        # Only the samples below: none the sampler may have taken of the real run.
        await session.execute(delete(TrainingSample).where(TrainingSample.job_id == job_id))
        for offset, busy in ((1_000, 30.0), (2_000, 50.0), (2 * 60_000 + 1, 90.0)):
            session.add(
                TrainingSample(
                    job_id=job_id,
                    task="worker-0",
                    taken_at=start + offset,
                    cpu_percent=25.0,
                    memory_bytes=1 << 28,
                    gpu_percent=busy,
                    gpu_memory_bytes=None,
                )
            )
    answer = await api.call("GET", f"{JOBS}/{job_id}/metrics/worker-0")
    metrics = {m["metric"]: m["value"] for m in answer.json()["metrics"]}
    assert metrics["gpuUtil"] == [40.0, -1, 90.0]
    # A quarter of a core used, of the flavor's quarter: all of it.
    assert metrics["cpuUsage"][0] == 100.0 and metrics["cpuUsage"][1] == -1
    assert metrics["memUsage"][0] == 50.0


class Gate:
    """Holds a job's downloads until the test lets them go."""

    def __init__(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()
        staging = api.platform.staging
        real = staging._transfer_in

        async def held(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            await self.opened.wait()
            return await real(*args, **kwargs)

        monkeypatch.setattr(staging, "_transfer_in", held)


async def test_terminating_while_data_comes_in_never_starts_the_code(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await put(api, "code/train.py", f"import os\n{STARTED}\n")
    await put(api, "data/iris.csv", IRIS)
    gate = Gate(api, monkeypatch)
    created = await create(api, job_body("cut-off"))
    job_id = created["metadata"]["id"]
    await asyncio.wait_for(gate.reached.wait(), 30)
    answer = await api.call("POST", f"{JOBS}/{job_id}/actions", json={"action_type": "terminate"})
    assert answer.status_code == 202
    gate.opened.set()
    job = await wait_for(api, job_id, "Terminated", "Failed", "Completed")
    assert job["status"]["phase"] == "Terminated"
    assert not any((folder / "started").exists() for folder in log_folders(api, job_id))


async def test_a_restart_while_data_comes_in_prepares_the_job_again(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    settings = make_settings(home, database_url, reconcile_interval_s=0.5)
    async for api in start_api(settings):
        await _bucket(api, BUCKET)
        await put(api, "code/train.py", TRAIN)
        await put(api, "data/iris.csv", IRIS)
        gate = Gate(api, monkeypatch)
        created = await create(api, job_body("restaged"))
        job_id = created["metadata"]["id"]
        await asyncio.wait_for(gate.reached.wait(), 30)
    monkeypatch.undo()
    async for api in start_api(settings):  # the preparation was cut short by the stop
        job = await wait_for(api, job_id, "Completed", "Failed")
        assert job["status"]["phase"] == "Completed", job["status"]
        assert any("cut short before it started" in m for m in await events(api, job_id))
        assert await read_all(api.platform.store, BUCKET, "out/restaged/model.json")


async def test_a_system_bucket_a_project_owns_gets_no_logs(api: Api, tmp_path: Path) -> None:
    await _bucket(api, api.platform.settings.system_bucket)
    await put(
        api,
        "code/train.py",
        f"import os, time\n{STARTED}\ntime.sleep(60)\n",
    )
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("logged"))
    job_id = created["metadata"]["id"]
    await job_wrote(api, job_id)
    link = await api.call("GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/url")
    assert link.status_code == 400
    assert "belongs to a project" in link.json()["error_msg"]
    await api.call("POST", f"{JOBS}/{job_id}/actions", json={"action_type": "terminate"})
    await wait_for(api, job_id, "Terminated")


async def test_a_like_filter_on_a_time_is_refused(api: Api) -> None:
    answer = await api.call(
        "POST",
        "/v2/{project_id}/training-job-searches",
        json={"filters": [{"key": "create_time", "operator": "like", "value": ["1"]}]},
    )
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "ModelArts.2764"


@pytest.mark.skipif(os.geteuid() != 0, reason="ModelArts' paths are the sandbox's")
async def test_inputs_and_outputs_say_where_the_task_finds_them(api: Api) -> None:
    await put(api, "code/train.py", TRAIN)
    await put(api, "data/iris.csv", IRIS)
    created = await create(api, job_body("paths"))
    algorithm = created["algorithm"]
    assert [c["local_dir"] for c in algorithm["inputs"]] == [
        "/home/ma-user/modelarts/inputs/data_url_0"
    ]
    assert [c["local_dir"] for c in algorithm["outputs"]] == [
        "/home/ma-user/modelarts/outputs/train_url_0"
    ]
    shown = await show(api, created["metadata"]["id"])
    assert shown["algorithm"]["inputs"][0]["local_dir"].endswith("/inputs/data_url_0")
