"""Notebook instances end to end: a real server, the official SDK, and real JupyterLab
reached through the platform's proxy over HTTP and WebSockets."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
import requests
from huaweicloudsdkmodelarts.v1 import (
    AttachDynamicStorageRequest,
    CreateImageRequest,
    CreateNotebookRequest,
    CreateTrainingJobRequest,
    DataVolumesReq,
    DeleteNotebookRequest,
    ImageCreateReq,
    Job,
    JobAlgorithm,
    JobEngine,
    JobMetadata,
    LeaseReq,
    ListImageRequest,
    ModelArtsClient,
    NotebookCreateRequest,
    RenewLeaseRequest,
    ShowImageRequest,
    ShowLeaseRequest,
    ShowNotebookRequest,
    ShowTrainingJobDetailsRequest,
    ShowTrainingJobLogsPreviewRequest,
    Spec,
    SpecResource,
    StartNotebookRequest,
    StopNotebookRequest,
    VolumeMountRequest,
)

from openarts.testing.server import ServerProcess
from tests.storage.conftest import admin_s3 as s3_client

from .conftest import sdk_client, signed_call

pytestmark = pytest.mark.e2e
FLAVORS = """
flavors:
  - name: test.notebook.small
    vcpus: 0.5
    memory_gib: 1
    uses: [notebook]
  - name: test.training.small
    vcpus: 0.5
    memory_gib: 1
    uses: [training]
"""


@pytest.fixture
def server(tmp_path: Path) -> Any:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    process = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.5"}).start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture
def sdk(server: ServerProcess) -> ModelArtsClient:
    row = server.credentials()
    return sdk_client(
        server.endpoint, row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
    )


def builtin_image(sdk: ModelArtsClient) -> str:
    images = sdk.list_image(ListImageRequest(type="BUILD_IN")).data
    return str(next(i.id for i in images if i.name.startswith("python") and i.tag == "builtin"))


def create(sdk: ModelArtsClient, name: str, image_id: str, **extra: Any) -> str:
    created = sdk.create_notebook(
        CreateNotebookRequest(
            body=NotebookCreateRequest(
                name=name,
                flavor="test.notebook.small",
                image_id=image_id,
                volume=VolumeMountRequest(category="EVS", ownership="MANAGED"),
                **extra,
            )
        )
    )
    assert created.status == "CREATING"
    return str(created.id)


def make_wheel(folder: Path, name: str, value: str) -> Path:
    """A one-module wheel, built by hand (no network, no build tools)."""
    dist = f"{name}-1.0.dist-info"
    files = {
        f"{name}.py": f"VALUE = {value!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}/RECORD,,\n"
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist}/RECORD", record)
    return wheel


def wait_status(sdk: ModelArtsClient, notebook_id: str, wanted: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = sdk.show_notebook(ShowNotebookRequest(id=notebook_id))
        if shown.status == wanted:
            return shown
        assert shown.status not in ("CREATE_FAILED", "START_FAILED", "ERROR"), shown.fail_reason
        assert time.monotonic() < deadline, f"still {shown.status}, wanted {wanted}"
        time.sleep(0.2)


async def run_code(base: str, token: str, code: str) -> str:
    """Start a kernel through the proxy, execute ``code``, return what it printed or
    evaluated to; the kernel is shut down after."""
    headers = {"Authorization": f"token {token}"}
    async with aiohttp.ClientSession(headers=headers) as client:
        async with client.post(f"{base}/api/kernels", json={"name": "python3"}) as made:
            assert made.status == 201, await made.text()
            kernel_id = (await made.json())["id"]
        ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
        msg_id = uuid.uuid4().hex
        request = {
            "header": {
                "msg_id": msg_id,
                "username": "test",
                "session": uuid.uuid4().hex,
                "msg_type": "execute_request",
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            "content": {"code": code, "silent": False, "store_history": False},
            "channel": "shell",
        }
        out: list[str] = []
        async with client.ws_connect(ws_url) as ws:
            await ws.send_str(json.dumps(request))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = await ws.receive(timeout=60)
                data = json.loads(message.data)
                if data.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = data["msg_type"]
                if kind == "stream":
                    out.append(data["content"]["text"])
                elif kind == "execute_result":
                    out.append(data["content"]["data"]["text/plain"])
                elif kind == "error":
                    out.append("ERROR " + data["content"]["evalue"])
                elif kind == "status" and data["content"]["execution_state"] == "idle":
                    break
        async with client.delete(f"{base}/api/kernels/{kernel_id}") as gone:
            assert gone.status == 204
        return "".join(out).strip()


def jupyter_processes(notebook_id: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["environ"]):
        try:
            if (process.info["environ"] or {}).get("OPENARTS_NOTEBOOK_ID") == notebook_id:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_a_notebook_runs_jupyter_reached_through_the_platform(
    server: ServerProcess, sdk: ModelArtsClient
) -> None:
    created = sdk.create_notebook(
        CreateNotebookRequest(
            body=NotebookCreateRequest(
                name="nb-e2e",
                flavor="test.notebook.small",
                image_id=builtin_image(sdk),
                volume=VolumeMountRequest(category="EVS", ownership="MANAGED"),
            )
        )
    )
    assert created.status == "CREATING"
    running = wait_status(sdk, created.id, "RUNNING")
    base = running.url.removesuffix("/lab")
    assert base.startswith(server.endpoint)
    token = running.token

    # Without the token Jupyter refuses; with it, it answers.
    assert requests.get(f"{base}/api/status", timeout=5).status_code == 403
    status = requests.get(f"{base}/api/status", params={"token": token}, timeout=5)
    assert status.status_code == 200, status.text
    lab = requests.get(f"{base}/lab", params={"token": token}, timeout=10)
    assert lab.status_code == 200 and "JupyterLab" in lab.text

    assert asyncio.run(run_code(base, token, "1+1")) == "2"
    asyncio.run(run_code(base, token, "open('kept.txt', 'w').write('still here')"))
    assert jupyter_processes(created.id)

    sdk.stop_notebook(StopNotebookRequest(id=created.id))
    wait_status(sdk, created.id, "STOPPED")
    assert not jupyter_processes(created.id), "Jupyter or a kernel outlived the stop"
    refused = requests.get(f"{base}/api/status", params={"token": token}, timeout=5)
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "ModelArts.6327"

    sdk.start_notebook(StartNotebookRequest(id=created.id))
    wait_status(sdk, created.id, "RUNNING")
    assert asyncio.run(run_code(base, token, "print(open('kept.txt').read())")) == "still here"

    sdk.delete_notebook(DeleteNotebookRequest(id=created.id))
    deadline = time.monotonic() + 60
    while True:
        gone = requests.get(f"{base}/api/status", params={"token": token}, timeout=5)
        if gone.status_code == 400 and gone.json()["error_code"] == "ModelArts.6309":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert not (server.home / "notebooks" / created.id).exists()


def test_packages_installed_in_an_instance_are_saved_as_an_image(
    server: ServerProcess, sdk: ModelArtsClient, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "openarts_probe_pkg", "from the wheel")
    first = create(sdk, "nb-save", builtin_image(sdk))
    running = wait_status(sdk, first, "RUNNING")
    base, token = running.url.removesuffix("/lab"), running.token
    # The wheel reaches the instance as a user's upload would: written into its work
    # folder (the host's folders are out of its sight).
    payload = base64.b64encode(wheel.read_bytes()).decode()
    install = (
        "import base64, subprocess, sys; "
        f"open({wheel.name!r}, 'wb').write(base64.b64decode({payload!r})); "
        "r = subprocess.run([sys.executable, '-m', 'pip', 'install', "
        f"'--no-index', '--no-deps', {wheel.name!r}], capture_output=True, text=True); "
        "print(r.returncode, r.stderr[-300:])"
    )
    assert asyncio.run(run_code(base, token, install)).startswith("0")
    saved = sdk.create_image(
        CreateImageRequest(id=first, body=ImageCreateReq(name="probe-env", tag="v1"))
    )
    assert saved.status == "CREATING"
    assert sdk.show_notebook(ShowNotebookRequest(id=first)).status in ("SNAPSHOTTING", "RUNNING")
    deadline = time.monotonic() + 60
    while sdk.show_image(ShowImageRequest(id=saved.id)).status != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    wait_status(sdk, first, "RUNNING")

    second = create(sdk, "nb-from-image", saved.id)
    running = wait_status(sdk, second, "RUNNING")
    code = "import openarts_probe_pkg; print(openarts_probe_pkg.VALUE)"
    base, token = running.url.removesuffix("/lab"), running.token
    assert asyncio.run(run_code(base, token, code)) == "from the wheel"
    # In use, the image stays.
    refused = signed_call(server, "DELETE", f"/v1/{{project_id}}/images/{saved.id}")
    assert refused.status_code == 400, refused.text

    # A training job started from the saved image has the package too.
    s3 = s3_client(server)
    s3.create_bucket(Bucket="nb-train")
    probe = "import openarts_probe_pkg\nprint('probe says', openarts_probe_pkg.VALUE)\n"
    s3.put_object(Bucket="nb-train", Key="code/probe.py", Body=probe.encode())
    swr_path = sdk.show_image(ShowImageRequest(id=saved.id)).swr_path
    job = sdk.create_training_job(
        CreateTrainingJobRequest(
            body=Job(
                kind="job",
                metadata=JobMetadata(name="from-saved-image"),
                algorithm=JobAlgorithm(
                    code_dir="/nb-train/code/",
                    boot_file="/nb-train/code/probe.py",
                    # With a registry in front, as a user copies it from a console.
                    engine=JobEngine(image_url=f"swr.example.com/{swr_path}"),
                ),
                spec=Spec(resource=SpecResource(flavor_id="test.training.small", node_count=1)),
            )
        )
    )
    job_id = job.metadata.id
    assert job.algorithm.engine.image_url == f"swr.example.com/{swr_path}"
    deadline = time.monotonic() + 120
    while True:
        shown = sdk.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))
        if shown.status.phase in ("Completed", "Failed"):
            break
        assert time.monotonic() < deadline, f"training job still {shown.status.phase}"
        time.sleep(0.2)
    log = sdk.show_training_job_logs_preview(
        ShowTrainingJobLogsPreviewRequest(training_job_id=job_id, task_id="worker-0")
    )
    assert shown.status.phase == "Completed", log.content
    assert "probe says from the wheel" in log.content


def test_a_lease_stops_the_instance_unless_prolonged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    # An hour of lease lasts 4 s.
    env = {"OPENARTS_NOTEBOOK_LEASE_TIME_SCALE": str(4 / 3600)}
    server = ServerProcess(home, env=env).start()
    try:
        row = server.credentials()
        sdk = sdk_client(
            server.endpoint, row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
        )
        kept = create(sdk, "nb-kept", builtin_image(sdk))
        lapsed = create(sdk, "nb-lapsed", builtin_image(sdk))
        wait_status(sdk, kept, "RUNNING")
        shown = sdk.show_lease(ShowLeaseRequest(id=kept))
        assert shown.duration == 3_600_000 and shown.type == "TIMING"
        # Prolonged twice before it runs out (each time: an hour, 4 s, from now).
        for _ in range(2):
            time.sleep(2)
            sdk.renew_lease(RenewLeaseRequest(id=kept, body=LeaseReq(duration=3_600_000)))
        assert sdk.show_notebook(ShowNotebookRequest(id=kept)).status == "RUNNING"
        wait_status(sdk, lapsed, "STOPPED", timeout_s=60)
        with sqlite3.connect(home / "openarts.db") as db:
            messages = [
                m
                for (m,) in db.execute(
                    "SELECT message FROM events WHERE resource_id = ?", (lapsed,)
                )
            ]
        assert "stopped because the lease expired" in messages
        wait_status(sdk, kept, "STOPPED", timeout_s=60)
    finally:
        server.close()


def test_a_bucket_path_mounted_into_an_instance_is_read_from_a_kernel(
    server: ServerProcess, sdk: ModelArtsClient
) -> None:
    s3 = s3_client(server)
    s3.create_bucket(Bucket="nb-data")
    s3.put_object(Bucket="nb-data", Key="sets/a.csv", Body=b"x,y\n1,2\n")
    notebook = create(sdk, "nb-mount", builtin_image(sdk))
    running = wait_status(sdk, notebook, "RUNNING")
    base, token = running.url.removesuffix("/lab"), running.token
    bad = signed_call(
        server,
        "POST",
        f"/v1/{{project_id}}/notebooks/{notebook}/storage",
        {"category": "OBS", "uri": "obs://nb-data/missing/", "mount_path": "/data/m/"},
    )
    assert bad.status_code == 404 and bad.json()["error_code"] == "ModelArts.6624", bad.text
    mounted = sdk.attach_dynamic_storage(
        AttachDynamicStorageRequest(
            instance_id=notebook,
            body=DataVolumesReq(
                category="OBS", uri="obs://nb-data/sets/", mount_path="/data/sets/"
            ),
        )
    )
    path = f"/v1/{{project_id}}/notebooks/{notebook}/storage/{mounted.id}"
    deadline = time.monotonic() + 30
    while signed_call(server, "GET", path).json()["status"] != "MOUNTED":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    code = "print(open('data/sets/a.csv').read().splitlines()[1])"
    assert asyncio.run(run_code(base, token, code)) == "1,2"
    assert signed_call(server, "DELETE", path).json()["status"] == "UNMOUNTING"
    deadline = time.monotonic() + 30
    while signed_call(server, "GET", path).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    gone = "import os; print(os.path.exists('data/sets'))"
    assert asyncio.run(run_code(base, token, gone)) == "False"


def test_an_instance_survives_a_server_kill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    server = ServerProcess(home).start()
    try:
        row = server.credentials()
        sdk = sdk_client(
            server.endpoint, row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
        )
        notebook = create(sdk, "nb-kept", builtin_image(sdk))
        running = wait_status(sdk, notebook, "RUNNING")
        server.kill()
        again = ServerProcess(home, port=server.port, obs_port=server.obs_port).start()
        try:
            assert sdk.show_notebook(ShowNotebookRequest(id=notebook)).status == "RUNNING"
            base, token = running.url.removesuffix("/lab"), running.token
            assert asyncio.run(run_code(base, token, "3*3")) == "9"
            sdk.delete_notebook(DeleteNotebookRequest(id=notebook))
            deadline = time.monotonic() + 60
            while jupyter_processes(notebook):
                assert time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            again.close()
    finally:
        server.close()
