"""Models through the API, in process: import from object storage (copied, checked,
published with its environment), list and show, the runtimes, delete; bad inputs refused
with the reference's errors and nothing made."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openarts.db.tables import Event
from openarts.services import buckets
from openarts.storage.base import one_chunk

from ..conftest import Api, make_settings, start_api

BUCKET = "models-bucket"
MODELS = "/v1/{project_id}/models"
PLAIN = f"python_{sys.version_info.major}.{sys.version_info.minor}"
CONFIG: dict[str, Any] = {
    "model_algorithm": "predict_analysis",
    "model_type": "XGBoost",
    "apis": [
        {
            "protocol": "http",
            "url": "/",
            "method": "post",
            "request": {"Content-type": "applicaton/json", "data": {"type": "object"}},
            "response": {"Content-type": "application/json", "data": {"type": "object"}},
        }
    ],
    "dependencies": [
        {
            "installer": "pip",
            "packages": [
                {"package_name": "numpy", "package_version": "1.0", "restraint": "ATLEAST"}
            ],
        }
    ],
}


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    home = tmp_path / "home"
    home.mkdir()
    settings = make_settings(home, database_url, reconcile_interval_s=0.5)
    async for started in start_api(settings):
        await started.platform.store.create_bucket(BUCKET)
        async with started.platform.db.session() as session, session.begin():
            await buckets.record_bucket(session, name=BUCKET, project_id=started.project_id)
        yield started


async def put(api: Api, key: str, text: str) -> None:
    await api.platform.store.write(BUCKET, key, one_chunk(text.encode()))


def body(**changes: Any) -> dict[str, Any]:
    return {
        "model_name": "iris",
        "model_version": "1.0.0",
        "model_type": "XGBoost",
        "runtime": PLAIN,
        "source_location": f"obs://{BUCKET}/iris/model/",
        **changes,
    }


async def wait_for(api: Api, model_id: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        shown = (await api.call("GET", f"{MODELS}/{model_id}")).json()
        if shown.get("model_status") in statuses:
            return dict(shown)
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.2)


async def test_a_model_is_copied_checked_and_published(api: Api) -> None:
    await put(api, "iris/model/config.json", json.dumps(CONFIG))
    await put(api, "iris/model/customize_service.py", "# inference code\n")
    created = await api.call("POST", MODELS, json=body(description="first"))
    assert created.status_code == 200, created.text
    model_id = created.json()["model_id"]
    model = await wait_for(api, model_id, "published", "failed")
    assert model["model_status"] == "published", model
    assert model["runtime"] == PLAIN
    assert json.loads(model["apis"])[0]["url"] == "/"
    assert model["dependencies"][0]["packages"][0]["package_name"] == "numpy"
    assert model["model_algorithm"] == "predict_analysis"
    assert model["model_size"] > 0

    # The published model is a copy: the bucket changing does not change it.
    await put(api, "iris/model/customize_service.py", "# changed afterwards\n")
    stored = api.platform.models.root / model_id / "model" / "customize_service.py"
    assert stored.read_text() == "# inference code\n"

    listed = (await api.call("GET", MODELS, params={"model_name": "iri"})).json()
    assert [m["model_id"] for m in listed["models"]] == [model_id]
    assert listed["total_count"] == 1
    exact = await api.call("GET", MODELS, params={"model_name": "iri", "exact_match": "true"})
    assert exact.json()["total_count"] == 0

    again = await api.call("POST", MODELS, json=body())
    assert again.status_code == 409, again.text
    assert again.json()["error_code"] == "ModelArts.3002"
    second = await api.call("POST", MODELS, json=body(model_version="1.0.1"))
    assert second.status_code == 200
    await wait_for(api, second.json()["model_id"], "published")

    gone = await api.call("DELETE", f"{MODELS}/{model_id}", params={"cascade": "true"})
    assert gone.status_code == 200, gone.text
    assert sorted(gone.json()["delete_success_list"]) == sorted(
        [model_id, second.json()["model_id"]]
    )
    assert (await api.call("GET", f"{MODELS}/{model_id}")).json()["error_code"] == (
        "ModelArts.3001"
    )
    deadline = time.monotonic() + 10
    while (api.platform.models.root / model_id).exists():
        assert time.monotonic() < deadline, "the deleted model's files stayed"
        await asyncio.sleep(0.05)


async def test_bad_imports_are_refused_and_make_nothing(api: Api) -> None:
    cases = [
        (body(source_location="obs://not-ours/x/"), 400, "ModelArts.3017"),
        (body(source_location="swr.example.com/team/app:1"), 400, "ModelArts.3017"),
        (body(runtime="tensorflow_9.9-py_3.1"), 400, "ModelArts.3037"),
        (body(model_type="Image"), 400, "ModelArts.3037"),
        (body(model_version="01.0.0"), 400, "ModelArts.0101"),
        (body(model_type="Template"), 400, "ModelArts.0101"),
    ]
    for sent, status, code in cases:
        refused = await api.call("POST", MODELS, json=sent)
        assert refused.status_code == status, (sent, refused.text)
        assert refused.json()["error_code"] == code, (sent, refused.text)
    assert (await api.call("GET", MODELS)).json()["total_count"] == 0


@pytest.mark.parametrize(
    ("files", "changes", "reason"),
    [
        ({"other.txt": "x"}, {}, "has no config.json"),
        ({"config.json": "{not json"}, {}, "config.json"),
        ({"config.json": json.dumps({**CONFIG, "model_type": "PyTorch"})}, {}, "must agree"),
        (
            {"config.json": json.dumps({**CONFIG, "runtime": "tensorflow_9.9-py_3.1"})},
            {"runtime": None},
            "runtime",
        ),
        (
            {"config.json": json.dumps({**CONFIG, "dependencies": []})},
            {"runtime": PLAIN, "model_type": "XGBoost"},
            None,
        ),
    ],
)
async def test_a_package_that_cannot_be_published_fails_with_the_reason(
    api: Api, files: dict[str, str], changes: dict[str, Any], reason: str | None
) -> None:
    for name, text in files.items():
        await put(api, f"bad/{name}", text)
    sent = {k: v for k, v in body(source_location=f"obs://{BUCKET}/bad/", **changes).items()}
    sent = {k: v for k, v in sent.items() if v is not None}
    created = await api.call("POST", MODELS, json=sent)
    assert created.status_code == 200, created.text
    model = await wait_for(api, created.json()["model_id"], "published", "failed")
    if reason is None:
        # Plain Python, with nothing installed (each type's default, its framework's
        # runtime, is in tests/unit/test_documented_runtimes.py).
        assert model["model_status"] == "published" and model["runtime"] == PLAIN, model
        return
    assert model["model_status"] == "failed"
    async with api.platform.db.session() as session:
        messages = list(
            await session.scalars(
                select(Event.message).where(Event.resource_id == created.json()["model_id"])
            )
        )
    assert any(reason in m for m in messages), messages


async def test_the_runtimes_are_listed_per_engine(api: Api) -> None:
    page = (await api.call("GET", f"{MODELS}/ai-engine-runtimes")).json()
    engines = {e["ai_engine"]: e for e in page["engine_runtimes"]}
    assert page["total_count"] == len(engines) == page["count"]
    assert PLAIN in engines["Scikit_Learn"]["runtimes"]
    assert any(r.startswith("pytorch_2.13.0") for r in engines["PyTorch"]["runtimes"])
    first = (await api.call("GET", f"{MODELS}/ai-engine-runtimes", params={"limit": 1})).json()
    assert first["count"] == 1 and first["total_count"] == page["total_count"]


@pytest.mark.parametrize(
    ("model_type", "runtime", "runs_as"),
    [
        ("XGBoost", "python3.6", "xgboost_3.2.0-cpu-py_"),
        ("Scikit_Learn", "python2.7", "scikit_learn_1.9.1-py_"),
        ("TensorFlow", "tf2.1-python3.7", "tensorflow_2.21.0-cpu-py_"),
        ("PyTorch", "pytorch_1.8.0-cuda_10.2-py_3.7.11-ubuntu_18.04-x86_64", "pytorch_2.13.0-cpu"),
        ("MindSpore", "mindspore_1.7.0-cpu-py_3.7-ubuntu_18.04-x86_64", "mindspore_2.10.0-cpu"),
    ],
)
async def test_modelarts_runtime_names_run_on_this_platforms_builds(
    light_api: Api, model_type: str, runtime: str, runs_as: str
) -> None:
    api = light_api
    await api.platform.store.create_bucket(BUCKET)
    async with api.platform.db.session() as session, session.begin():
        await buckets.record_bucket(session, name=BUCKET, project_id=api.project_id)
    created = await api.call("POST", MODELS, json=body(model_type=model_type, runtime=runtime))
    assert created.status_code == 200, created.text
    async with api.platform.db.session() as session:
        messages = list(
            await session.scalars(
                select(Event.message).where(Event.resource_id == created.json()["model_id"])
            )
        )
    assert any(m.startswith(f"runtime {runtime} runs here as {runs_as}") for m in messages)
