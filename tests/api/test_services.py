"""Real-time services through the API, in process: refusals with the reference's errors
that change nothing, the stop schedule, a service with no replica answering (503), and
a call past the gateway's timeout (504). The model is a custom one (type Image): a small
HTTP server of the test's own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import update

from openarts.db.tables import Model, Service
from openarts.ids import now_ms
from openarts.services import buckets
from openarts.storage.base import one_chunk
from openarts.testing.factories import add_project, add_user
from tests.inference.serving import CUSTOM_MODEL_SERVER

from ..conftest import Api, make_settings, start_api

BUCKET = "svc-bucket"
MODELS = "/v1/{project_id}/models"
SERVICES = "/v1/{project_id}/services"
SPEC = "test.infer.small"
FLAVORS = f"""
flavors:
  - name: {SPEC}
    vcpus: 0.25
    memory_gib: 0.5
    uses: [inference]
"""


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    settings = make_settings(
        home,
        database_url,
        reconcile_interval_s=0.5,
        infer_timeout_s=1.0,
        replica_restart_base_s=30.0,
    )
    async for started in start_api(settings):
        await started.platform.store.create_bucket(BUCKET)
        async with started.platform.db.session() as session, session.begin():
            await buckets.record_bucket(session, name=BUCKET, project_id=started.project_id)
        yield started


async def until(api: Api, path: str, key: str, *values: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = (await api.call("GET", path)).json()
        if shown.get(key) in values:
            return shown
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.2)


async def custom_model(api: Api, version: str = "1.0.0") -> str:
    store = api.platform.store
    config = {"model_algorithm": "predict_analysis", "model_type": "Image"}
    await store.write(BUCKET, "custom/config.json", one_chunk(json.dumps(config).encode()))
    await store.write(BUCKET, "custom/serve.py", one_chunk(CUSTOM_MODEL_SERVER.encode()))
    created = await api.call(
        "POST",
        MODELS,
        json={
            "model_name": "echo",
            "model_version": version,
            "model_type": "Image",
            "source_location": f"obs://{BUCKET}/custom/",
            "cmd": "exec python serve.py",
        },
    )
    assert created.status_code == 200, created.text
    model_id = str(created.json()["model_id"])
    await until(api, f"{MODELS}/{model_id}", "model_status", "published")
    return model_id


def deployment(model_id: str, name: str = "echo", **extra: Any) -> dict[str, Any]:
    return {
        "service_name": name,
        "infer_type": "real-time",
        "config": [
            {"model_id": model_id, "weight": 100, "specification": SPEC, "instance_count": 1}
        ],
        **extra,
    }


async def deploy(api: Api, body: dict[str, Any]) -> str:
    deployed = await api.call("POST", SERVICES, json=body)
    assert deployed.status_code == 200, deployed.text
    service_id = str(deployed.json()["service_id"])
    await until(api, f"{SERVICES}/{service_id}", "status", "running")
    return service_id


def replica_pids(service_id: str) -> list[int]:
    found = []
    for process in psutil.process_iter(["environ", "cmdline"]):
        environ = process.info["environ"] or {}
        if environ.get("OPENARTS_SERVICE_ID") == service_id and "serve.py" in (
            process.info["cmdline"] or []
        ):
            found.append(process.pid)
    return found


async def test_bad_deployments_are_refused_and_make_nothing(api: Api) -> None:
    model_id = await custom_model(api)
    async with api.platform.db.session() as session, session.begin():
        for status, name in (("publishing", "half"), ("failed", "broken")):
            row = await session.get(Model, model_id)
            assert row is not None
            session.add(
                Model(
                    **{
                        c.name: getattr(row, c.name)
                        for c in Model.__table__.columns
                        if c.name not in ("id", "name", "status")
                    },
                    id=f"{status:0<32}"[:32],
                    name=name,
                    status=status,
                )
            )
    cases = [
        (deployment(f"{'publishing':0<32}"[:32]), 400, "ModelArts.3515"),
        (deployment(f"{'failed':0<32}"[:32]), 400, "ModelArts.3515"),
        ({**deployment(model_id), "infer_type": "batch"}, 400, "ModelArts.0101"),
        ({**deployment(model_id), "infer_type": "edge"}, 400, "ModelArts.3518"),
    ]
    for body, expected, code in cases:
        refused = await api.call("POST", SERVICES, json=body)
        assert refused.status_code == expected, (body, refused.text)
        assert refused.json()["error_code"] == code, (body, refused.text)
    assert (await api.call("GET", SERVICES)).json()["total_count"] == 0

    service_id = await deploy(api, deployment(model_id))
    twin = await api.call("POST", SERVICES, json=deployment(model_id))
    assert twin.status_code == 409 and twin.json()["error_code"] == "ModelArts.3503"
    for method in ("GET", "PUT", "DELETE"):
        missing = await api.call(method, f"{SERVICES}/{'0' * 32}", json={"description": "x"})
        assert missing.status_code == 404, missing.text
        assert missing.json()["error_code"] == "ModelArts.3502"
    await api.call("DELETE", f"{SERVICES}/{service_id}")
    late = await api.call("PUT", f"{SERVICES}/{service_id}", json={"description": "x"})
    assert late.json()["error_code"] == "ModelArts.3502"


async def test_a_stop_schedule_stops_the_service(api: Api) -> None:
    model_id = await custom_model(api)
    schedule = [{"type": "stop", "time_unit": "MINUTES", "duration": 1}]
    service_id = await deploy(api, deployment(model_id, schedule=schedule))
    shown = (await api.call("GET", f"{SERVICES}/{service_id}")).json()
    assert 55_000 <= shown["due_time"] - now_ms() <= 60_000
    assert shown["schedule"] == schedule
    # The minute passes.
    async with api.platform.db.session() as session, session.begin():
        await session.execute(
            update(Service).where(Service.id == service_id).values(due_time=now_ms())
        )
    api.platform.service_loop.wake()
    await until(api, f"{SERVICES}/{service_id}", "status", "stopped")
    assert replica_pids(service_id) == []
    events = (await api.call("GET", f"{SERVICES}/{service_id}/events")).json()
    assert "stopped by its schedule" in [e["event_info"] for e in events["events"]]


async def test_no_replica_answering_is_503_and_a_slow_model_504(api: Api) -> None:
    model_id = await custom_model(api)
    service_id = await deploy(api, deployment(model_id))
    infer = f"/v1/infers/{service_id}/"
    answered = await api.call("POST", infer, json={"x": 1})
    assert answered.status_code == 200 and answered.json() == {"echo": {"x": 1}}

    slow = await api.call("POST", infer, json={"sleep_s": 3})
    assert slow.status_code == 504, slow.text
    assert slow.json()["error_code"] == "ModelArts.4302"

    [pid] = replica_pids(service_id)
    os.kill(pid, signal.SIGKILL)
    # It starts again only after 30 s: meanwhile the service has no replica.
    await until(api, f"{SERVICES}/{service_id}", "status", "concerning")
    down = await api.call("POST", infer, json={"x": 2})
    assert down.status_code == 503, down.text
    assert down.json()["error_code"] == "ModelArts.4302"
    assert "no replica" in down.json()["error_msg"]


async def test_metrics_of_one_project_for_its_members(api: Api) -> None:
    model_id = await custom_model(api)
    service_id = await deploy(api, deployment(model_id))
    answered = await api.call("POST", f"/v1/infers/{service_id}/", json={"x": 1})
    assert answered.status_code == 200
    other = await add_project(api.platform.db, "elsewhere")
    outsider = await add_user(api.platform.db, api.platform.box, "olga", projects=[other])

    mine = await api.call("GET", "/metrics", params={"project_id": api.project_id})
    assert mine.status_code == 200
    assert f'openarts_inference_request_seconds_count{{model_id="{model_id}",' in mine.text
    theirs = await api.call("GET", "/metrics", params={"project_id": other}, keys=outsider.keys)
    assert theirs.status_code == 200 and service_id not in theirs.text
    refused = await api.call(
        "GET", "/metrics", params={"project_id": api.project_id}, keys=outsider.keys
    )
    assert refused.status_code == 403
    everything = await api.call("GET", "/metrics", keys=outsider.keys)
    assert everything.status_code == 403
    assert "?project_id=" in everything.json()["error_msg"]


async def test_stop_and_delete_at_once_end_with_the_service_gone(api: Api) -> None:
    model_id = await custom_model(api)
    service_id = await deploy(api, deployment(model_id))
    path = f"{SERVICES}/{service_id}"
    stop, gone = await asyncio.gather(
        api.call("PUT", path, json={"status": "stopped"}), api.call("DELETE", path)
    )
    # Whichever came second was refused (it would have undone the other), or found the
    # service gone; never do both go through half-way.
    answers = {stop.status_code, gone.status_code}
    assert 200 in answers, (stop.text, gone.text)
    for answer in (stop, gone):
        assert answer.status_code == 200 or answer.json()["error_code"] in (
            "ModelArts.3519",
            "ModelArts.3502",
        ), answer.text
    if gone.status_code != 200:
        # Refused while the stop went through: asked again, it is deleted.
        gone = await api.call("DELETE", path)
        assert gone.status_code == 200, gone.text
    deadline = time.monotonic() + 60
    while (await api.call("GET", path)).status_code != 404 or replica_pids(service_id):
        assert time.monotonic() < deadline, (await api.call("GET", path)).text
        await asyncio.sleep(0.2)


@pytest.fixture
async def quick_api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    home = tmp_path / "quick"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    settings = make_settings(
        home, database_url, reconcile_interval_s=0.5, replica_restart_base_s=0.05
    )
    async for started in start_api(settings):
        await started.platform.store.create_bucket(BUCKET)
        async with started.platform.db.session() as session, session.begin():
            await buckets.record_bucket(session, name=BUCKET, project_id=started.project_id)
        yield started


async def test_a_model_that_cannot_start_fails_its_service_which_can_be_retried(
    quick_api: Api,
) -> None:
    api = quick_api
    store = api.platform.store
    config = {"model_algorithm": "predict_analysis", "model_type": "Image"}
    await store.write(BUCKET, "broken/config.json", one_chunk(json.dumps(config).encode()))
    created = await api.call(
        "POST",
        MODELS,
        json={
            "model_name": "broken",
            "model_version": "1.0.0",
            "model_type": "Image",
            "source_location": f"obs://{BUCKET}/broken/",
            "cmd": "echo the port is taken >&2; exit 3",
        },
    )
    model_id = created.json()["model_id"]
    await until(api, f"{MODELS}/{model_id}", "model_status", "published")
    deployed = await api.call("POST", SERVICES, json=deployment(model_id, name="broken"))
    service_id = deployed.json()["service_id"]
    failed = await until(api, f"{SERVICES}/{service_id}", "status", "failed")
    assert "failed 3 times" in failed["error_msg"], failed
    assert "the port is taken" in failed["error_msg"], failed
    logs = (await api.call("GET", f"{SERVICES}/{service_id}/logs")).json()
    assert [log["result"] for log in logs["logs"]] == ["FAIL"]
    # Asked to run again, it tries afresh (and fails again, for the same reason).
    again = await api.call("PUT", f"{SERVICES}/{service_id}", json={"status": "running"})
    assert again.status_code == 200, again.text
    assert (await api.call("GET", f"{SERVICES}/{service_id}")).json()["status"] == "deploying"
    await until(api, f"{SERVICES}/{service_id}", "status", "failed")
    logs = (await api.call("GET", f"{SERVICES}/{service_id}/logs")).json()
    assert [log["result"] for log in logs["logs"]] == ["FAIL", "FAIL"]


# Makes a TorchScript model y = x0 + 2 * x1 with the PyTorch engine's own interpreter.
MAKE_TORCHSCRIPT = """
import sys, torch
layer = torch.nn.Linear(2, 1, bias=False)
with torch.no_grad():
    layer.weight.copy_(torch.tensor([[1.0, 2.0]]))
torch.jit.script(layer).save(sys.argv[1])
"""


# What this test checks does not depend on the database: one dialect is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_torchscript_model_is_served_by_the_pytorch_runtime(
    tmp_path: Path, database_url: str, engine_cache: Path
) -> None:
    home = tmp_path / "torch"
    home.mkdir()
    (home / "flavors.yaml").write_text(
        "flavors:\n  - {name: test.infer.torch, vcpus: 0.5, memory_gib: 2, uses: [inference]}\n"
    )
    settings = make_settings(
        home, database_url, reconcile_interval_s=0.5, engine_cache=engine_cache
    )
    async for api in start_api(settings):
        await api.platform.store.create_bucket(BUCKET)
        async with api.platform.db.session() as session, session.begin():
            await buckets.record_bucket(session, name=BUCKET, project_id=api.project_id)
        training = api.platform.api.training
        engine = next(e for e in training.engines if e.name == "PyTorch")

        async def progress(message: str) -> None:
            pass

        python = await api.platform.training_loop.engine_envs.ensure(engine, progress)
        scripted = tmp_path / "linear.pt"
        made = await asyncio.create_subprocess_exec(python, "-c", MAKE_TORCHSCRIPT, str(scripted))
        assert await made.wait() == 0
        config = {"model_algorithm": "predict_analysis", "model_type": "PyTorch"}
        await api.platform.store.write(
            BUCKET, "torch/config.json", one_chunk(json.dumps(config).encode())
        )
        await api.platform.store.write(BUCKET, "torch/linear.pt", one_chunk(scripted.read_bytes()))
        created = await api.call(
            "POST",
            MODELS,
            json={
                "model_name": "linear",
                "model_version": "1.0.0",
                "model_type": "PyTorch",
                "source_location": f"obs://{BUCKET}/torch/",
            },
        )
        model_id = created.json()["model_id"]
        model = await until(api, f"{MODELS}/{model_id}", "model_status", "published", timeout_s=600)
        assert model["runtime"].startswith("pytorch_2.13.0")
        body = deployment(model_id)
        body["config"][0]["specification"] = "test.infer.torch"
        service_id = await deploy(api, body)
        answer = await api.call(
            "POST", f"/v1/infers/{service_id}/", json={"instances": [[1.0, 2.0], [3.0, 0.5]]}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [[5.0], [4.0]]


async def test_a_replica_silent_past_its_deploy_timeout_fails_the_service(
    quick_api: Api,
) -> None:
    api = quick_api
    store = api.platform.store
    config = {"model_algorithm": "predict_analysis", "model_type": "Image"}
    await store.write(BUCKET, "silent/config.json", one_chunk(json.dumps(config).encode()))
    created = await api.call(
        "POST",
        MODELS,
        json={
            "model_name": "silent",
            "model_version": "1.0.0",
            "model_type": "Image",
            "source_location": f"obs://{BUCKET}/silent/",
            "cmd": "exec sleep 600",
        },
    )
    model_id = created.json()["model_id"]
    await until(api, f"{MODELS}/{model_id}", "model_status", "published")
    body = deployment(model_id, name="silent")
    body["config"][0]["deploy_timeout_in_seconds"] = 1
    service_id = (await api.call("POST", SERVICES, json=body)).json()["service_id"]
    failed = await until(api, f"{SERVICES}/{service_id}", "status", "failed", timeout_s=90)
    assert "did not answer its health check in time" in failed["error_msg"], failed
