"""Model replicas in their sandboxes: an attacker's customize_service.py, deployed by a
member of a second project, tries what a replica once could and fails; two replicas of one
custom server both listen on port 8080 (what ModelArts requires) and both serve through
the gateway."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openarts.services import buckets
from openarts.storage.base import one_chunk
from openarts.testing.clients import AkSk
from openarts.testing.factories import add_authorized_member, add_project
from tests.api.test_services import BUCKET, FLAVORS, MODELS, SERVICES, SPEC
from tests.conftest import Api, make_settings, start_api

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the per-project uid needs root")

PLAIN = "python_3.11"
ATTACK = """
import json, os, socket
from model_service.python_model_service import XgSklServingBaseService

TARGETS = json.loads({targets!r})


def attempt(tries, name, action):
    try:
        tries[name] = "SUCCEEDED: " + repr(action())[:200]
    except Exception as error:
        tries[name] = "failed: " + type(error).__name__ + ": " + str(error)[:160]


def connect(port):
    socket.create_connection(("127.0.0.1", port), 2).close()


class Attack(XgSklServingBaseService):
    def _preprocess(self, data):
        return data

    def _inference(self, data):
        tries = {{}}
        for name in ("secret_key", "database", "credentials"):
            attempt(tries, "read " + name, lambda p=TARGETS[name]: open(p, "rb").read(64))
        attempt(tries, "list the object store", lambda: os.listdir(TARGETS["obs"]))
        attempt(tries, "read the server's environment",
                lambda: open(f"/proc/{{TARGETS['server_pid']}}/environ", "rb").read(64))
        attempt(tries, "write the model", lambda: open("/home/mind/model/x", "w").write("x"))
        for name in ("replica", "database_server"):
            attempt(tries, "connect to the " + name, lambda p=TARGETS[name]: connect(p))
        attempt(tries, "become root", lambda: os.setuid(0))
        facts = {{"uid": os.getuid(), "cwd": os.getcwd(), "hostname": socket.gethostname()}}
        return [json.dumps({{"tries": tries, "facts": facts}})]
"""
# A custom server that says which replica answered, and on which port it listens.
WHO_SERVES = """
import json, os, socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _answer(self):
        data = json.dumps({"host": socket.gethostname(), "port": os.environ["PORT"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    settings = make_settings(home, database_url, reconcile_interval_s=0.5, infer_timeout_s=10.0)
    async for started in start_api(settings):
        await started.platform.store.create_bucket(BUCKET)
        async with started.platform.db.session() as session, session.begin():
            await buckets.record_bucket(session, name=BUCKET, project_id=started.project_id)
        yield started


async def _model(
    api: Api, body: dict[str, Any], keys: AkSk | None = None, project: str = ""
) -> str:
    path = MODELS.replace("{project_id}", project) if project else MODELS
    created = await api.call("POST", path, json=body, keys=keys)
    assert created.status_code == 200, created.text
    model_id = str(created.json()["model_id"])
    await _until(_As(api, keys, project), f"{path}/{model_id}", "model_status", "published")
    return model_id


async def _deploy(
    api: Api, model_id: str, count: int, keys: AkSk | None = None, project: str = ""
) -> str:
    path = SERVICES.replace("{project_id}", project) if project else SERVICES
    body = {
        "service_name": f"svc-{model_id[:8]}",
        "infer_type": "real-time",
        "config": [
            {"model_id": model_id, "weight": 100, "specification": SPEC, "instance_count": count}
        ],
    }
    deployed = await api.call("POST", path, json=body, keys=keys)
    assert deployed.status_code == 200, deployed.text
    service_id = str(deployed.json()["service_id"])
    await _until(_As(api, keys, project), f"{path}/{service_id}", "status", "running")
    return service_id


async def _until(caller: _As, path: str, key: str, *values: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        shown = (await caller.call("GET", path)).json()
        if shown.get(key) in values:
            return
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.2)


class _As:
    """Calls as another caller in another project (what ``until`` needs of an Api)."""

    def __init__(self, api: Api, keys: AkSk | None, project: str) -> None:
        self._api, self._keys, self._project = api, keys, project

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._project:
            path = path.replace("{project_id}", self._project)
        return await self._api.call(method, path, keys=self._keys, **kwargs)


async def test_two_replicas_of_a_custom_server_both_listen_on_8080(api: Api) -> None:
    store = api.platform.store
    config = {"model_algorithm": "predict_analysis", "model_type": "Image"}
    await store.write(BUCKET, "who/config.json", one_chunk(json.dumps(config).encode()))
    await store.write(BUCKET, "who/serve.py", one_chunk(WHO_SERVES.encode()))
    model_id = await _model(
        api,
        {
            "model_name": "who",
            "model_version": "1.0.0",
            "model_type": "Image",
            "source_location": f"obs://{BUCKET}/who/",
            "cmd": "exec python serve.py",
        },
    )
    service_id = await _deploy(api, model_id, count=2)
    seen = set()
    for _ in range(40):
        answer = await api.call("POST", f"/v1/infers/{service_id}/", json={"x": 1})
        assert answer.status_code == 200, answer.text
        seen.add((answer.json()["host"], answer.json()["port"]))
        if len(seen) == 2:
            break
    hosts = {host for host, _ in seen}
    assert len(hosts) == 2 and all(h.startswith("model-") for h in hosts), seen
    assert {port for _, port in seen} == {"8080"}
    # Their socket folders go with them.
    sockets = api.platform.settings.home / "replicas"
    assert len(list(sockets.iterdir())) == 2
    gone = await api.call("DELETE", f"{SERVICES}/{service_id}")
    assert gone.status_code in (200, 204), gone.text
    deadline = time.monotonic() + 60
    while list(sockets.iterdir()):
        assert time.monotonic() < deadline, list(sockets.iterdir())
        await asyncio.sleep(0.2)


async def test_a_second_projects_replica_reaches_nothing(api: Api) -> None:
    settings = api.platform.settings
    other = await add_project(api.platform.db, "elsewhere")
    user = await add_authorized_member(api.platform.db, api.platform.box, other, "mallory")
    await api.platform.store.create_bucket("mallory-models")
    async with api.platform.db.session() as session, session.begin():
        await buckets.record_bucket(session, name="mallory-models", project_id=other)
    replica = socket.create_server(("127.0.0.1", 0))
    targets = {
        "secret_key": str(settings.secret_key_file),
        "database": str(settings.home / "openarts.db"),
        "credentials": str(settings.credentials_file),
        "obs": str(settings.resolved_storage_root),
        "server_pid": os.getpid(),
        "replica": replica.getsockname()[1],
        "database_server": 5432,
    }
    config = {"model_algorithm": "predict_analysis", "model_type": "Scikit_Learn"}
    store = api.platform.store
    await store.write("mallory-models", "m/config.json", one_chunk(json.dumps(config).encode()))
    code = ATTACK.format(targets=json.dumps(targets))
    await store.write("mallory-models", "m/customize_service.py", one_chunk(code.encode()))
    try:
        model_id = await _model(
            api,
            {
                "model_name": "attack",
                "model_version": "1.0.0",
                "model_type": "Scikit_Learn",
                "runtime": PLAIN,
                "source_location": "obs://mallory-models/m/",
            },
            keys=user.keys,
            project=other,
        )
        service_id = await _deploy(api, model_id, 1, keys=user.keys, project=other)
        answer = await api.call(
            "POST", f"/v1/infers/{service_id}/", json={"data": {"req_data": [{}]}}, keys=user.keys
        )
        assert answer.status_code == 200, answer.text
        # The scikit-learn base wraps each prediction as {"predictresult": ...}.
        [said] = answer.json()["data"]["resp_data"]
        report = json.loads(said["predictresult"])
    finally:
        replica.close()
    assert_nothing_reached(report)


def assert_nothing_reached(report: dict[str, Any]) -> None:
    """Every try of ATTACK failed (each printed), and it ran as ma-user in its model."""
    for name, outcome in report["tries"].items():
        print(f"replica: {name}: {outcome}")
    assert {n: o for n, o in report["tries"].items() if not o.startswith("failed")} == {}
    facts = report["facts"]
    assert facts["uid"] == 1000 and facts["cwd"] == "/home/mind/model"
    assert facts["hostname"].startswith("model-")
