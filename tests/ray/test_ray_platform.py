"""The platform on the Ray backend, end to end through the official SDK: a real cluster of
three nodes on this machine (head 127.0.0.2 with no CPUs of its own, so work lands on the
workers 127.0.0.3 and .4), a real server joined to it, real jobs, a notebook and a service.

The cluster is shared by the module's tests (each has a server and home of its own); the
test that kills a node's raylet runs last, as it leaves the cluster one worker short.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import (
    CreateTrainingJobRequest,
    Job,
    JobAlgorithm,
    JobEngine,
    JobMetadata,
    ListTrainingJobEventsRequest,
    ModelArtsClient,
    Parameters,
    ShowTrainingJobDetailsRequest,
    Spec,
    SpecResource,
)

from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.ray_cluster import NodeSpec, RayCluster
from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client, signed_call
from tests.e2e.test_sdk_notebooks import builtin_image, create, jupyter_processes, run_code
from tests.e2e.test_sdk_notebooks import wait_status as wait_notebook
from tests.e2e.test_services import (
    ask,
    import_model,
    replica_processes,
    until,
    upload_iris,
    wait_status,
)
from tests.sandbox.test_a_job_sees_only_its_own import attack_from_a_job, task_pid
from tests.sandbox.test_a_notebook_sees_only_its_own import (
    attack_from_a_notebook,
    mallory_beside_a_victim,
)
from tests.sandbox.test_a_replica_sees_only_its_own import ATTACK as REPLICA_ATTACK
from tests.sandbox.test_a_replica_sees_only_its_own import assert_nothing_reached
from tests.storage.conftest import admin_s3, s3_client

pytestmark = [pytest.mark.ray, pytest.mark.e2e]

GIB = 1 << 30
BUCKET = "ray-jobs"
WORKERS = ("127.0.0.3", "127.0.0.4")
FLAVORS = """
flavors:
  - name: test.ray.train
    vcpus: 0.5
    memory_gib: 0.5
    uses: [training, pool]
  - name: test.ray.node
    vcpus: 1
    memory_gib: 1
    uses: [pool]
  - name: test.notebook.small
    vcpus: 0.5
    memory_gib: 0.5
    uses: [notebook]
  - name: test.infer.small
    vcpus: 0.25
    memory_gib: 0.25
    uses: [inference]
"""
# Prints where it runs, then meets the other ranks at MASTER_ADDR:MASTER_PORT (a socket
# rendezvous: torch is not a dependency of the platform's tests).
RENDEZVOUS = """
import os, socket, sys, time
rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
address, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
print("rank", rank, "of", size, "hosts", os.environ["VC_WORKER_HOSTS"], flush=True)
if rank == 0:
    with socket.create_server((address, port)) as server:
        for _ in range(size - 1):
            connection, _ = server.accept()
            print("rank 0 got:", connection.recv(100).decode(), flush=True)
            connection.sendall(b"ack")
else:
    deadline = time.time() + 60
    while True:
        try:
            connection = socket.create_connection((address, port))
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    connection.sendall(f"hello from rank {rank}".encode())
    print("rank", rank, "got:", connection.recv(100).decode(), flush=True)
"""
# Waits until the object named by --release is in the job's bucket (or forever),
# printing its host first. It asks the object-storage endpoint with the credential its
# sandbox holds (a host file would not be in its view); the endpoint may be restarting.
WAIT = """
import argparse, os, sys, time
import boto3
parser = argparse.ArgumentParser()
parser.add_argument("--release")
args, _ = parser.parse_known_args()
print("running on", os.environ["MASTER_ADDR"], "rank", os.environ["RANK"], flush=True)
s3 = boto3.client("s3")
while True:
    try:
        s3.head_object(Bucket="ray-jobs", Key=args.release)
        break
    except Exception:
        time.sleep(0.1)
print("released", flush=True)
"""


def release(server: ServerProcess, key: str) -> None:
    """Let the WAIT jobs waiting for ``key`` end."""
    admin_s3(server).put_object(Bucket=BUCKET, Key=key, Body=b"go")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    nodes = [
        NodeSpec("127.0.0.2", num_cpus=0, memory_bytes=GIB),
        *(NodeSpec(ip, num_cpus=2, memory_bytes=2 * GIB) for ip in WORKERS),
    ]
    with RayCluster.start(tmp_path_factory.mktemp("ray"), nodes) as started:
        yield started


@pytest.fixture
def server(cluster: RayCluster, tmp_path: Path) -> Iterator[ServerProcess]:
    process = start_server(cluster, tmp_path / "home")
    try:
        yield process
    finally:
        process.close()


def start_server(cluster: RayCluster, home: Path) -> ServerProcess:
    home.mkdir(exist_ok=True)
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {
        "OPENARTS_BACKEND": "ray",
        "OPENARTS_RAY_ADDRESS": cluster.address,
        "OPENARTS_RECONCILE_INTERVAL_S": "0.5",
        "OPENARTS_STOP_GRACE_S": "2",
    }
    return ServerProcess(home, env=env).start(timeout_s=90)


def sdk_of(server: ServerProcess) -> ModelArtsClient:
    row = server.credentials()
    return sdk_client(
        server.endpoint, row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
    )


def put_code(server: ServerProcess, script: str) -> None:
    s3 = admin_s3(server)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="code/train.py", Body=script.encode())


def submit(
    sdk: ModelArtsClient,
    name: str,
    *,
    node_count: int = 1,
    pool_id: str | None = None,
    annotations: dict[str, str] | None = None,
    parameters: dict[str, str] | None = None,
) -> str:
    job = sdk.create_training_job(
        CreateTrainingJobRequest(
            body=Job(
                kind="job",
                metadata=JobMetadata(name=name, annotations=annotations),
                algorithm=JobAlgorithm(
                    code_dir=f"/{BUCKET}/code/",
                    boot_file=f"/{BUCKET}/code/train.py",
                    engine=JobEngine(engine_name="Python"),
                    parameters=[Parameters(name=k, value=v) for k, v in (parameters or {}).items()],
                ),
                spec=Spec(
                    resource=SpecResource(
                        flavor_id="test.ray.train", node_count=node_count, pool_id=pool_id
                    )
                ),
            )
        )
    )
    return str(job.metadata.id)


def phase(sdk: ModelArtsClient, job_id: str) -> Any:
    return sdk.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))


def wait_phase(sdk: ModelArtsClient, job_id: str, *phases: str, timeout_s: float = 120) -> Any:
    def reached() -> Any:
        job = phase(sdk, job_id)
        return job if job.status.phase in phases else None

    return until(reached, f"job {job_id} to reach {phases}", timeout_s)


def task_log(server: ServerProcess, job_id: str, task: str) -> str:
    shown = signed_call(
        server, "GET", f"/v2/{{project_id}}/training-jobs/{job_id}/tasks/{task}/logs/preview"
    )
    assert shown.status_code == 200, shown.text
    return str(shown.json()["content"])


def events_of(sdk: ModelArtsClient, job_id: str) -> str:
    listed = sdk.list_training_job_events(ListTrainingJobEventsRequest(training_job_id=job_id))
    return json.dumps([str(e) for e in listed.events or []])


# -- the tests ------------------------------------------------------------------------------
def test_a_gang_wider_than_the_cluster_is_refused(server: ServerProcess) -> None:
    sdk = sdk_of(server)
    put_code(server, RENDEZVOUS)
    # Two workers have CPUs: a three-node gang needs three nodes of its own.
    with pytest.raises(ClientRequestException) as refused:
        submit(sdk, "too-many", node_count=3)
    assert refused.value.status_code == 400
    assert refused.value.error_code == "ModelArts.2788"
    assert "can never fit" in refused.value.error_msg


def test_a_two_node_job_runs_on_two_nodes_and_its_ranks_meet(server: ServerProcess) -> None:
    sdk = sdk_of(server)
    put_code(server, RENDEZVOUS)
    job_id = submit(sdk, "gang", node_count=2)
    job = wait_phase(sdk, job_id, "Completed", "Failed")
    first, second = task_log(server, job_id, "worker-0"), task_log(server, job_id, "worker-1")
    assert job.status.phase == "Completed", (job.status, first, second)
    hosts = re.search(r"hosts (\S+)", first)
    assert hosts is not None, first
    placed = hosts.group(1).split(",")
    assert len(set(placed)) == 2 and set(placed) <= set(WORKERS), placed
    assert "rank 0 got: hello from rank 1" in first
    assert "rank 1 got: ack" in second


def make_pool(server: ServerProcess, count: int) -> tuple[str, list[dict[str, Any]]]:
    """A running dedicated pool of ``count`` whole nodes; its name and nodes."""
    network = signed_call(
        server,
        "POST",
        "/v1/{project_id}/networks",
        {
            "apiVersion": "v1",
            "kind": "Network",
            "metadata": {"labels": {"os.modelarts/name": "net-ray"}},
            "spec": {"cidr": "192.168.20.0/24"},
        },
    )
    assert network.status_code == 200, network.text
    created = signed_call(
        server,
        "POST",
        "/v2/{project_id}/pools",
        {
            "apiVersion": "v2",
            "kind": "Pool",
            "metadata": {"labels": {"os.modelarts/name": "pool-ray"}},
            "spec": {
                "type": "Dedicate",
                "scope": ["Train"],
                "resources": [{"flavor": "test.ray.node", "count": count}],
                "network": {"name": network.json()["metadata"]["name"]},
            },
        },
    )
    assert created.status_code == 200, created.text
    pool = str(created.json()["metadata"]["name"])

    def running_pool() -> dict[str, Any] | None:
        shown = signed_call(server, "GET", f"/v2/{{project_id}}/pools/{pool}").json()
        return shown if shown["status"]["phase"] == "Running" else None

    until(running_pool, "the pool to run", 60)
    return pool, pool_nodes(server, pool)


def pool_nodes(server: ServerProcess, pool: str) -> list[dict[str, Any]]:
    listed = signed_call(server, "GET", f"/v2/{{project_id}}/pools/{pool}/nodes")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


def test_a_pool_of_one_worker_takes_only_its_work_and_queues_the_rest(
    server: ServerProcess,
) -> None:
    sdk = sdk_of(server)
    put_code(server, WAIT)
    pool, nodes = make_pool(server, 1)
    assert len(nodes) == 1
    pool_host = nodes[0]["status"]["privateIp"]
    assert pool_host in WORKERS
    public_host = next(ip for ip in WORKERS if ip != pool_host)

    first = submit(sdk, "in-pool-1", pool_id=pool, parameters={"release": "go"})
    second = submit(sdk, "in-pool-2", pool_id=pool, parameters={"release": "go"})
    public = submit(sdk, "public", parameters={"release": "go"})
    wait_phase(sdk, first, "Running")
    wait_phase(sdk, public, "Running")
    until(lambda: "running on" in task_log(server, first, "worker-0"), "the first job's log")
    until(lambda: "running on" in task_log(server, public, "worker-0"), "the public job's log")
    assert f"running on {pool_host}" in task_log(server, first, "worker-0")
    assert f"running on {public_host}" in task_log(server, public, "worker-0")
    # The pool's one node (1 vCPU) holds one job of 0.5 vCPU... and a second one fits too,
    # so a third shows the queue: the pool is full with two.
    third = submit(sdk, "in-pool-3", pool_id=pool, parameters={"release": "go"})
    queued = phase(sdk, third)
    assert queued.status.phase == "Pending", queued.status
    release(server, "go")
    for job_id in (first, second, public, third):
        done = wait_phase(sdk, job_id, "Completed", "Failed")
        assert done.status.phase == "Completed", (job_id, done.status)
    for job_id in (first, second, third):
        assert f"running on {pool_host}" in task_log(server, job_id, "worker-0")


def test_a_notebook_and_a_service_run_on_the_cluster(
    server: ServerProcess, cluster: RayCluster, tmp_path: Path
) -> None:
    sdk = sdk_of(server)
    notebook_id = create(sdk, "on-ray", builtin_image(sdk))
    running = wait_notebook(sdk, notebook_id, "RUNNING", timeout_s=180)
    base = running.url.removesuffix("/lab")
    assert base.startswith(server.endpoint), base
    # Jupyter runs on a worker, in its sandbox (its project's uid, not root); the
    # platform's URL reaches it.
    jupyters = jupyter_processes(notebook_id)
    placed = nodes_of(cluster, jupyters)
    assert len(placed) == 1 and placed <= set(WORKERS), placed
    uids = set()
    for process in jupyters:
        with contextlib.suppress(psutil.NoSuchProcess):
            uids.add(process.uids().real)
    assert uids - {0}, uids
    assert asyncio.run(run_code(base, running.token, "import os; os.getuid()")) == "1000"

    admin_s3(server).create_bucket(Bucket="svc-models")
    upload_iris(server, tmp_path, "iris-ray")
    model_id = import_model(server, "iris-ray", "1.0.0")
    deployed = signed_call(
        server,
        "POST",
        "/v1/{project_id}/services",
        {
            "service_name": "iris-on-ray",
            "infer_type": "real-time",
            "config": [
                {
                    "model_id": model_id,
                    "weight": 100,
                    "specification": "test.infer.small",
                    "instance_count": 2,
                }
            ],
        },
    )
    assert deployed.status_code == 200, deployed.text
    service_id = deployed.json()["service_id"]
    wait_status(server, service_id, "running")
    answers = [ask(server, service_id, (5.1, 3.5, 1.4, 0.2)) for _ in range(20)]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert "setosa" in answers[0].text
    replicas = nodes_of(cluster, replica_processes(service_id))
    assert replicas and replicas <= set(WORKERS), replicas


def nodes_of(cluster: RayCluster, processes: list[psutil.Process]) -> set[str]:
    """The workers ``processes`` run on, of those still running (a helper process that
    ended meanwhile is left out)."""
    return {node for node in (node_of(cluster, process) for process in processes) if node}


def node_of(cluster: RayCluster, process: psutil.Process) -> str:
    """The worker whose processes ``process`` is one of (a descendant of its raylet; the
    process table is read again while a process in the chain is still being made); ""
    when it has ended."""
    deadline = time.monotonic() + 10
    while True:
        for ip in WORKERS:
            if process.pid in {p.pid for p in cluster.node_processes(ip)}:
                return ip
        if not process.is_running():
            return ""
        if time.monotonic() > deadline:
            chain = [f"{p.pid} {p.name()}" for p in process.parents()]
            raise AssertionError(f"process {process.pid} is no worker's: its parents {chain}")
        time.sleep(0.1)


def test_a_second_projects_notebook_on_a_node_reaches_nothing_from_a_kernel_or_a_terminal(
    server: ServerProcess,
) -> None:
    """The attacker's notebook of tests/sandbox/test_a_notebook_sees_only_its_own.py, on
    a node."""
    attack_from_a_notebook(server)


def test_a_second_projects_replica_on_a_node_reaches_nothing(
    server: ServerProcess, cluster: RayCluster
) -> None:
    """The attacker's customize_service.py of tests/sandbox/test_a_replica_sees_only_its_own.py,
    deployed by the second project's member, on a node."""
    project_id, ak, sk = mallory_beside_a_victim(server)
    replica = socket.create_server(("127.0.0.1", 0))
    targets = {
        "secret_key": str(server.home / "secret.key"),
        "database": str(server.home / "openarts.db"),
        "credentials": str(server.home / "credentials.csv"),
        "obs": str(server.home / "obs"),
        "server_pid": server.process.pid if server.process else 0,
        "replica": replica.getsockname()[1],
        "database_server": 5432,
    }
    config = {"model_algorithm": "predict_analysis", "model_type": "Scikit_Learn"}
    mallory_s3 = s3_client(server.obs_endpoint, ak, sk)
    mallory_s3.put_object(Bucket="mallory-data", Key="m/config.json", Body=json.dumps(config))
    code = REPLICA_ATTACK.format(targets=json.dumps(targets))
    mallory_s3.put_object(Bucket="mallory-data", Key="m/customize_service.py", Body=code)
    mallory = SignedClient(server.endpoint, project_id, AkSk(ak, sk))
    try:
        model_id = mallory.call(
            "POST",
            "/v1/{project_id}/models",
            {
                "model_name": "attack",
                "model_version": "1.0.0",
                "model_type": "Scikit_Learn",
                "runtime": "python_3.11",
                "source_location": "obs://mallory-data/m/",
            },
        )["model_id"]
        until(
            lambda: (
                mallory.call("GET", f"/v1/{{project_id}}/models/{model_id}")["model_status"]
                == "published"
            ),
            "the attacker's model",
            60,
        )
        service_id = mallory.call(
            "POST",
            "/v1/{project_id}/services",
            {
                "service_name": "attack",
                "infer_type": "real-time",
                "config": [
                    {
                        "model_id": model_id,
                        "weight": 100,
                        "specification": "test.infer.small",
                        "instance_count": 1,
                    }
                ],
            },
        )["service_id"]
        until(
            lambda: (
                mallory.call("GET", f"/v1/{{project_id}}/services/{service_id}")["status"]
                == "running"
            ),
            "the attacker's service",
            120,
        )
        placed = nodes_of(cluster, replica_processes(service_id))
        assert placed and placed <= set(WORKERS), placed
        answer = mallory.call("POST", f"/v1/infers/{service_id}/", {"data": {"req_data": [{}]}})
        [said] = answer["data"]["resp_data"]
        report = json.loads(said["predictresult"])
    finally:
        replica.close()
    assert_nothing_reached(report)


def test_a_second_projects_job_on_a_node_reaches_nothing_of_anyone_else(
    server: ServerProcess, cluster: RayCluster
) -> None:
    """The attacker's job of tests/sandbox/test_a_job_sees_only_its_own.py, on a node."""
    mallory = mallory_beside_a_victim(server)
    # The victim: a job of the admin's project, running on the other worker.
    sdk = sdk_of(server)
    put_code(server, WAIT)
    victim_id = submit(sdk, "victim", parameters={"release": "never"})
    wait_phase(sdk, victim_id, "Running")
    until(lambda: "running on" in task_log(server, victim_id, "worker-0"), "the victim's log")
    ray_host, ray_port = cluster.address.rsplit(":", 1)
    try:
        _, report = attack_from_a_job(
            server,
            victim_id,
            mallory,
            flavor="test.ray.train",
            extra_targets={"ray_host": ray_host, "ray_port": int(ray_port)},
            extra_tries='attempt("connect to the Ray cluster", lambda: socket.create_connection('
            '(targets["ray_host"], targets["ray_port"]), 2).close())',
        )
        assert "connect to the Ray cluster" in report["tries"]
        assert node_of(cluster, psutil.Process(task_pid(victim_id))) in WORKERS
    finally:
        signed_call(
            server,
            "POST",
            f"/v2/{{project_id}}/training-jobs/{victim_id}/actions",
            {"action_type": "terminate"},
        )


def test_a_job_is_adopted_by_a_restarted_server(cluster: RayCluster, tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(cluster, home)
    try:
        sdk = sdk_of(server)
        put_code(server, WAIT)
        job_id = submit(sdk, "adopted", node_count=2, parameters={"release": "go"})
        wait_phase(sdk, job_id, "Running")
        until(lambda: "running on" in task_log(server, job_id, "worker-0"), "the job's log")
        server.kill()  # as a crash would: nothing is shut down, the job runs on
        # On the same ports, as a configured server restarts: the job's sandbox reaches
        # the object-storage endpoint at the port it was started with.
        server.start(timeout_s=90)
        sdk = sdk_of(server)
        assert phase(sdk, job_id).status.phase == "Running"
        release(server, "go")
        done = wait_phase(sdk, job_id, "Completed", "Failed")
        assert done.status.phase == "Completed", done.status
        assert "released" in task_log(server, job_id, "worker-0")
    finally:
        server.close()


# Last: it leaves the cluster one worker short.
def test_a_node_lost_mid_job_fails_the_gang_and_names_the_node(
    server: ServerProcess, cluster: RayCluster
) -> None:
    sdk = sdk_of(server)
    put_code(server, WAIT)
    # The gang runs in a pool that took both workers: the lost node shows there too.
    pool, nodes = make_pool(server, 2)
    assert sorted(n["status"]["privateIp"] for n in nodes) == list(WORKERS)
    job_id = submit(
        sdk,
        "doomed",
        node_count=2,
        pool_id=pool,
        annotations={"fault-tolerance/job-retry-num": "0"},
        parameters={"release": "never"},
    )
    wait_phase(sdk, job_id, "Running")
    until(lambda: "running on" in task_log(server, job_id, "worker-1"), "rank 1's log")
    cluster.kill_raylet(WORKERS[1])
    done = wait_phase(sdk, job_id, "Completed", "Failed", timeout_s=90)
    assert done.status.phase == "Failed", done.status
    told = json.dumps(done.to_json_object(), default=str) + events_of(sdk, job_id)
    assert f"node {WORKERS[1]} left the Ray cluster" in told, told
    lost = until(
        lambda: [n for n in pool_nodes(server, pool) if n["status"]["phase"] == "Abnormal"],
        "the pool's node on the lost host to turn Abnormal",
        30,
    )
    assert [n["status"]["privateIp"] for n in lost] == [WORKERS[1]]
    events = signed_get(server, f"/v1/{{project_id}}/events?resource=pools&name={pool}")
    assert events.status_code == 200, events.text
    assert f"host {WORKERS[1]} is gone" in events.text, events.text
    # Neither rank is left running: the survivor is stopped, and the lost node's task
    # went with its runner.
    until(lambda: not job_processes(server, job_id), "the job's processes to end", 30)


def signed_get(server: ServerProcess, path: str) -> httpx.Response:
    """A signed GET with a query string (the platform's signer, the SDK's scheme)."""
    row = server.credentials()
    keys = AkSk(row["Access Key Id"], row["Secret Access Key"])
    return SignedClient(server.endpoint, row["Project Id"], keys).request("GET", path)


def job_processes(server: ServerProcess, job_id: str) -> list[psutil.Process]:
    folder = str(server.home / "training" / job_id)
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["status"] != psutil.STATUS_ZOMBIE and any(
            folder in part for part in process.info["cmdline"] or []
        ):
            found.append(process)
    return found
