"""The public pool on one small host, and every wait with its reason.

On the local backend the public pool shares its host's CPUs by time: vCPUs may be
promised several times over (public_cpu_share, 4 by default), a flavor larger than the
host runs capped at it, with an event; memory stays strict. What still waits says why
and what holds the pool, where a user looks: the job's task messages, the notebook's
progress, the service's events, and each one's own events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from openarts.services import buckets
from openarts.storage.base import one_chunk
from tests.conftest import Api, make_settings, start_api

BUCKET = "waits"
JOBS = "/v2/{project_id}/training-jobs"
NOTEBOOKS = "/v1/{project_id}/notebooks"
MODELS = "/v1/{project_id}/models"
SERVICES = "/v1/{project_id}/services"
GIB = 1 << 30
SLEEPER = "import time\nprint('holding', flush=True)\ntime.sleep(600)\n"
# A custom server that needs nothing installed: the standard library's HTTP server.
SERVER = """
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_GET

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


async def started_api(
    home: Path, database_url: str, flavors: str | None, **settings: Any
) -> AsyncIterator[Api]:
    await asyncio.to_thread(prepare_home, home, flavors)
    values = make_settings(home, database_url, reconcile_interval_s=0.3, **settings)
    async for api in start_api(values):
        await api.platform.store.create_bucket(BUCKET)
        async with api.platform.db.session() as session, session.begin():
            await buckets.record_bucket(session, name=BUCKET, project_id=api.project_id)
        for key, text in (("code/hold.py", SLEEPER), ("srv/serve.py", SERVER)):
            await api.platform.store.write(BUCKET, key, one_chunk(text.encode()))
        yield api


def prepare_home(home: Path, flavors: str | None) -> None:
    home.mkdir()
    if flavors is not None:
        (home / "flavors.yaml").write_text(flavors)


async def until(probe: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def start_job(api: Api, name: str, flavor: str) -> str:
    body = {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/hold.py",
            "engine": {"engine_name": "Python"},
        },
        "spec": {"resource": {"flavor_id": flavor, "node_count": 1}},
    }
    created = await api.call("POST", JOBS, json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["metadata"]["id"])


async def job(api: Api, job_id: str) -> dict[str, Any]:
    return dict((await api.call("GET", f"{JOBS}/{job_id}")).json())


async def job_running(api: Api, job_id: str) -> dict[str, Any] | None:
    shown = await job(api, job_id)
    assert shown["status"]["phase"] not in ("Failed", "Abnormal"), shown
    return shown if shown["status"]["phase"] == "Running" else None


async def job_events(api: Api, job_id: str) -> list[str]:
    page = (await api.call("GET", f"{JOBS}/{job_id}/events")).json()
    return [str(e.get("message")) for e in page.get("events", [])]


async def start_notebook(api: Api, flavor: str) -> str:
    images = (await api.call("GET", "/v1/{project_id}/images", params={"type": "BUILD_IN"})).json()
    image = next(i["id"] for i in images["data"] if i["name"].startswith("python"))
    body = {
        "name": "nb",
        "flavor": flavor,
        "image_id": image,
        "volume": {"category": "EVS", "ownership": "MANAGED"},
    }
    created = await api.call("POST", NOTEBOOKS, json=body)
    assert created.status_code in (200, 201), created.text
    return str(created.json()["id"])


async def notebook(api: Api, notebook_id: str) -> dict[str, Any]:
    return dict((await api.call("GET", f"{NOTEBOOKS}/{notebook_id}")).json())


async def deploy(api: Api, specification: str) -> str:
    config = {"model_type": "Image"}
    await api.platform.store.write(
        BUCKET, "srv/config.json", one_chunk(json.dumps(config).encode())
    )
    created = await api.call(
        "POST",
        MODELS,
        json={
            "model_name": "srv",
            "model_version": "1.0.0",
            "model_type": "Image",
            "source_location": f"obs://{BUCKET}/srv/",
            "cmd": "exec python serve.py",
        },
    )
    assert created.status_code == 200, created.text
    model_id = created.json()["model_id"]

    async def published() -> bool:
        shown = (await api.call("GET", f"{MODELS}/{model_id}")).json()
        assert shown["model_status"] != "failed", shown
        return bool(shown["model_status"] == "published")

    await until(published, "the model to be published")
    body = {
        "service_name": "srv",
        "infer_type": "real-time",
        "config": [
            {
                "model_id": model_id,
                "weight": 100,
                "specification": specification,
                "instance_count": 1,
            }
        ],
    }
    deployed = await api.call("POST", SERVICES, json=body)
    assert deployed.status_code == 200, deployed.text
    return str(deployed.json()["service_id"])


async def service_status(api: Api, service_id: str) -> str:
    return str((await api.call("GET", f"{SERVICES}/{service_id}")).json()["status"])


@pytest.fixture
async def shared(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    """The shipped flavors, the public pool sharing the host's CPUs (the default)."""
    async for api in started_api(tmp_path / "home", database_url, None):
        yield api


async def test_a_notebook_a_job_and_a_replica_run_at_once_on_a_small_host(shared: Api) -> None:
    """modelarts.vm.cpu.free + 2u + 2u asks 5 vCPUs: more than 2 cores hold as a
    reservation, well within what they share."""
    api = shared
    job_id = await start_job(api, "holder", "modelarts.vm.cpu.2u")
    notebook_id = await start_notebook(api, "modelarts.vm.cpu.free")
    service_id = await deploy(api, "modelarts.vm.cpu.2u")
    await until(lambda: job_running(api, job_id), "the job to run")

    async def notebook_running() -> bool:
        shown = await notebook(api, notebook_id)
        assert shown["status"] not in ("CREATE_FAILED", "START_FAILED", "ERROR"), shown
        return bool(shown["status"] == "RUNNING")

    async def service_running() -> bool:
        status = await service_status(api, service_id)
        assert status != "failed"
        return status == "running"

    await until(notebook_running, "the notebook to run", timeout_s=120)
    await until(service_running, "the service to run", timeout_s=120)
    # All three at once.
    assert (await job(api, job_id))["status"]["phase"] == "Running"


async def test_a_flavor_larger_than_the_host_runs_capped_with_an_event(shared: Api) -> None:
    api = shared
    host_cpus = psutil.cpu_count() or 1
    job_id = await start_job(api, "big", "modelarts.vm.cpu.8u")
    await until(lambda: job_running(api, job_id), "the 8u job to run")
    events = await job_events(api, job_id)
    if host_cpus < 8 or psutil.virtual_memory().total < 32 * GIB:
        assert any("runs capped at" in e for e in events), events
    else:
        assert not any("runs capped at" in e for e in events), events


@pytest.fixture
async def strict(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    """A flavor whose memory is 60 % of the host's: two never run at once (memory is
    never promised twice), whatever the host."""
    memory_gib = round(psutil.virtual_memory().total * 0.6 / GIB, 2)
    flavors = f"""
flavors:
  - name: test.most
    vcpus: 0.25
    memory_gib: {memory_gib}
    uses: [notebook, training, inference]
"""
    async for api in started_api(tmp_path / "home", database_url, flavors):
        yield api


async def test_what_waits_says_why_and_what_holds_the_pool(strict: Api) -> None:
    api = strict
    holder = await start_job(api, "holder", "test.most")
    await until(lambda: job_running(api, holder), "the first job to run")

    waiter = await start_job(api, "waiter", "test.most")
    notebook_id = await start_notebook(api, "test.most")

    async def job_says_why() -> str:
        messages = [
            t.get("message") or ""
            for t in (await job(api, waiter))["status"].get("task_statuses") or []
        ]
        return next((m for m in messages if "held by training job holder" in m), "")

    said = await until(job_says_why, "the waiting job to say why")
    assert said.startswith("waiting for") and "public pool" in said, said
    assert any("held by training job holder" in e for e in await job_events(api, waiter))

    async def notebook_says_why() -> list[dict[str, Any]]:
        steps = (await notebook(api, notebook_id)).get("action_progress") or []
        compute = [s for s in steps if s["step"] == 2]
        return steps if compute and "held by" in compute[0]["description"] else []

    steps = await until(notebook_says_why, "the notebook's progress to say why")
    # Nothing is said done that is not.
    assert [s["status"] for s in steps] == ["COMPLETED", "PROCESSING", "WAITING", "WAITING"]

    # The public pool shows its capacity, what holds it, and its line with reasons.
    pool = (await api.call("GET", "/v2/{project_id}/public-pool")).json()
    assert pool["running"] == 1 and pool["waiting"] == 2, pool
    names = [(i["name"], i["status"], i.get("position")) for i in pool["items"]]
    assert names == [
        ("training job holder", "Running", None),
        ("training job waiter", "Pending", 1),
        ("notebook nb", "Pending", 2),
    ], pool
    assert "held by training job holder" in pool["items"][1]["reason"], pool
    # The default share: the host's vCPUs promised four times over.
    assert pool["used"]["cpu"] == "250m" and pool["cpu_share"] == 4.0, pool
    assert float(pool["capacity"]["cpu"]) == 4 * float(pool["hosts"]["cpu"]), pool
    assert pool["others_running"] == pool["others_waiting"] == 0, pool

    service_id = await deploy(api, "test.most")

    async def service_says_why() -> list[str]:
        page = (await api.call("GET", f"{SERVICES}/{service_id}/events")).json()
        infos = [str(e.get("event_info")) for e in page.get("events", [])]
        return infos if any("held by training job holder" in i for i in infos) else []

    await until(service_says_why, "the service's events to say why its replica waits")
    assert await service_status(api, service_id) == "deploying"

    # The holder ends: the next in line starts; the notebook still waits, saying for what.
    ended = await api.call("POST", f"{JOBS}/{holder}/actions", json={"action_type": "terminate"})
    assert ended.status_code in (200, 202), ended.text
    await until(lambda: job_running(api, waiter), "the waiting job to run")
    shown = await notebook(api, notebook_id)
    assert shown["status"] == "CREATING", shown
    compute = [s for s in shown.get("action_progress") or [] if s["step"] == 2]
    assert compute and compute[0]["status"] == "PROCESSING", shown
