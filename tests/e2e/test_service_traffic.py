"""How a running service's traffic behaves, against a real server process: a replica killed
under load, weights between two model versions (and changing them), scaling, a rolling
swap of the model under load, a server killed and restarted, and a custom model that
serves HTTP itself. The models are customize_service.py files written the ModelArts way."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openarts.testing.server import ServerProcess
from tests.inference.serving import CUSTOM_MODEL_SERVER
from tests.storage.conftest import admin_s3

from .conftest import signed_call
from .test_services import FLAVORS, SPEC, replica_processes, service, until, wait_status

pytestmark = pytest.mark.e2e

BUCKET = "traffic"
PLAIN = f"python_{sys.version_info.major}.{sys.version_info.minor}"
# A ModelArts-style inference script: the scikit-learn base, its own _inference.
VERSIONED = """
import log
from model_service.python_model_service import XgSklServingBaseService

logger = log.getLogger(__name__)


class VersionService(XgSklServingBaseService):
    def _preprocess(self, data):
        return data

    def _inference(self, data):
        # One prediction per call: the base wraps it as {{"data": {{"resp_data": [...]}}}}.
        return ["{version}"]
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {"OPENARTS_RECONCILE_INTERVAL_S": "0.5", "OPENARTS_REPLICA_RESTART_BASE_S": "0.2"}
    process = ServerProcess(home, env=env).start()
    admin_s3(process).create_bucket(Bucket=BUCKET)
    try:
        yield process
    finally:
        process.close()


def import_versioned(server: ServerProcess, version: str) -> str:
    s3 = admin_s3(server)
    config = {"model_algorithm": "predict_analysis", "model_type": "Scikit_Learn"}
    s3.put_object(Bucket=BUCKET, Key=f"{version}/config.json", Body=json.dumps(config))
    code = VERSIONED.format(version=version)
    s3.put_object(Bucket=BUCKET, Key=f"{version}/customize_service.py", Body=code.encode())
    return _import(
        server,
        {
            "model_name": "versioned",
            "model_version": f"{version[1:]}.0.0",
            "model_type": "Scikit_Learn",
            "runtime": PLAIN,
            "source_location": f"obs://{BUCKET}/{version}/",
        },
    )


def _import(server: ServerProcess, body: dict[str, Any]) -> str:
    created = signed_call(server, "POST", "/v1/{project_id}/models", body)
    assert created.status_code == 200, created.text
    model_id = str(created.json()["model_id"])

    def published() -> bool:
        shown = signed_call(server, "GET", f"/v1/{{project_id}}/models/{model_id}").json()
        assert shown["model_status"] != "failed", shown
        return bool(shown["model_status"] == "published")

    until(published, f"model {model_id} to be published")
    return model_id


def deploy(server: ServerProcess, name: str, config: list[dict[str, Any]]) -> str:
    deployed = signed_call(
        server,
        "POST",
        "/v1/{project_id}/services",
        {"service_name": name, "infer_type": "real-time", "config": config},
    )
    assert deployed.status_code == 200, deployed.text
    service_id = str(deployed.json()["service_id"])
    wait_status(server, service_id, "running")
    return service_id


def entry(model_id: str, weight: int = 100, count: int = 1) -> dict[str, Any]:
    return {"model_id": model_id, "weight": weight, "specification": SPEC, "instance_count": count}


def version_of(server: ServerProcess, service_id: str) -> str:
    answer = signed_call(server, "POST", f"/v1/infers/{service_id}/", {"data": {"req_data": []}})
    assert answer.status_code == 200, answer.text
    return "v2" if '"v2"' in answer.text else "v1" if '"v1"' in answer.text else answer.text


def update(server: ServerProcess, service_id: str, body: dict[str, Any]) -> None:
    answer = signed_call(server, "PUT", f"/v1/{{project_id}}/services/{service_id}", body)
    assert answer.status_code == 200, answer.text


class Load:
    """Steady calls from two threads until stopped (bounded in time), counting answers."""

    def __init__(self, server: ServerProcess, service_id: str) -> None:
        self.server = server
        self.service_id = service_id
        self.statuses: Counter[int] = Counter()
        self.versions: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(2)]

    def _run(self) -> None:
        deadline = time.monotonic() + 120
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                answer = signed_call(
                    self.server,
                    "POST",
                    f"/v1/infers/{self.service_id}/",
                    {"data": {"req_data": []}},
                )
            except Exception:
                self.statuses[0] += 1
                continue
            self.statuses[answer.status_code] += 1
            if answer.status_code == 200:
                self.versions.append("v2" if '"v2"' in answer.text else "v1")

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def calls(self) -> int:
        return sum(self.statuses.values())


def test_a_killed_replica_costs_at_most_its_calls_in_flight_and_comes_back(
    server: ServerProcess,
) -> None:
    model = import_versioned(server, "v1")
    service_id = deploy(server, "steady", [entry(model, count=2)])
    with Load(server, service_id) as load:
        until(lambda: load.calls() >= 40, "some calls before the kill", 30)
        victim = replica_processes(service_id)[0]
        os.kill(victim.pid, signal.SIGKILL)
        until(
            lambda: (
                len(replica_processes(service_id)) == 2
                and victim.pid not in {p.pid for p in replica_processes(service_id)}
            ),
            "the replica to be started again",
            60,
        )
        wait_status(server, service_id, "running")
        before = load.calls()
        until(lambda: load.calls() >= before + 40, "calls after it came back", 30)
    failed = load.calls() - load.statuses[200]
    # Two clients: at most the two calls in flight on the killed replica fail.
    assert failed <= 2, load.statuses
    events = signed_call(server, "GET", f"/v1/{{project_id}}/services/{service_id}/events")
    infos = " ".join(e["event_info"] for e in events.json()["events"])
    assert "ended" in infos and "starting again" in infos, infos


def test_weights_split_traffic_between_versions_and_can_change(server: ServerProcess) -> None:
    first = import_versioned(server, "v1")
    second = import_versioned(server, "v2")
    service_id = deploy(server, "split", [entry(first, 80), entry(second, 20)])
    seen = Counter(version_of(server, service_id) for _ in range(1000))
    # 80/20 over 1,000 calls: the standard deviation is about 13 calls.
    assert 720 <= seen["v1"] <= 880 and seen["v1"] + seen["v2"] == 1000, seen

    update(server, service_id, {"config": [entry(first, 10), entry(second, 90)]})
    until(lambda: service(server, service_id)["status"] == "running", "the update", 60)
    seen = Counter(version_of(server, service_id) for _ in range(400))
    assert seen["v2"] >= 320, seen
    # Only the weights changed: the same two replicas serve.
    assert len(replica_processes(service_id)) == 2


def test_scaling_and_a_rolling_swap_lose_no_call(server: ServerProcess) -> None:
    first = import_versioned(server, "v1")
    second = import_versioned(server, "v2")
    service_id = deploy(server, "rolling", [entry(first)])
    update(server, service_id, {"config": [entry(first, count=2)]})
    until(lambda: len(replica_processes(service_id)) == 2, "a second replica", 60)
    wait_status(server, service_id, "running")

    with Load(server, service_id) as load:
        update(server, service_id, {"config": [entry(second, count=2)]})

        def swapped() -> bool:
            shown = service(server, service_id)
            return bool(
                shown["status"] == "running"
                and shown["config"][0]["model_id"] == second
                and len(replica_processes(service_id)) == 2
            )

        until(swapped, "the new version to replace the old", 90)
        before = load.calls()
        until(lambda: load.calls() >= before + 20, "calls after the swap", 30)
    assert load.statuses[200] == load.calls(), load.statuses
    assert load.versions[-1] == "v2" and "v1" in load.versions
    logs = signed_call(server, "GET", f"/v1/{{project_id}}/services/{service_id}/logs").json()
    assert [log["result"] for log in logs["logs"]][:1] == ["SUCCESS"]

    update(server, service_id, {"config": [entry(second, count=1)]})
    until(lambda: len(replica_processes(service_id)) == 1, "scaling in", 60)
    assert version_of(server, service_id) == "v2"


def test_a_service_still_serves_after_the_server_is_killed(server: ServerProcess) -> None:
    model = import_versioned(server, "v1")
    service_id = deploy(server, "survivor", [entry(model)])
    pids = {p.pid for p in replica_processes(service_id)}
    server.kill()
    server.start()
    assert version_of(server, service_id) == "v1"
    assert service(server, service_id)["status"] == "running"
    # The replica was adopted, not started again.
    assert {p.pid for p in replica_processes(service_id)} == pids


def test_a_custom_model_serves_http_itself(server: ServerProcess) -> None:
    s3 = admin_s3(server)
    config = {"model_algorithm": "predict_analysis", "model_type": "Image"}
    s3.put_object(Bucket=BUCKET, Key="custom/config.json", Body=json.dumps(config))
    s3.put_object(Bucket=BUCKET, Key="custom/serve.py", Body=CUSTOM_MODEL_SERVER.encode())
    model = _import(
        server,
        {
            "model_name": "adder",
            "model_version": "1.0.0",
            "model_type": "Image",
            "source_location": f"obs://{BUCKET}/custom/",
            "cmd": "exec python serve.py",
        },
    )
    service_id = deploy(server, "custom", [entry(model)])
    answer = signed_call(server, "POST", f"/v1/infers/{service_id}/", {"numbers": [1, 2, 39]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"echo": {"numbers": [1, 2, 39]}}
