"""Models and real-time services end to end, against a real server process: a scikit-learn
model trained here, uploaded with boto3, imported, deployed with two replicas, called
through /v1/infers/ with signed requests; the monitor, update log and events; stop,
start, delete; bad deployments refused."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest
import requests

from openarts.testing.server import ServerProcess
from tests.inference.serving import IRIS_FEATURES, IRIS_QUESTIONS, train_iris
from tests.storage.conftest import admin_s3

from .conftest import signed_call

pytestmark = pytest.mark.e2e

T = TypeVar("T")
SPEC = "test.infer.small"
FLAVORS = f"""
flavors:
  - name: {SPEC}
    vcpus: 0.25
    memory_gib: 0.5
    uses: [inference]
  - name: test.infer.huge
    vcpus: 64
    memory_gib: 4096
    uses: [inference]
"""
BUCKET = "svc-models"
PLAIN = f"python_{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {"OPENARTS_RECONCILE_INTERVAL_S": "0.5", "OPENARTS_REPLICA_RESTART_BASE_S": "0.2"}
    process = ServerProcess(home, env=env).start()
    try:
        yield process
    finally:
        process.close()


def until(probe: Callable[[], T | None], what: str, timeout_s: float = 120.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def upload_iris(server: ServerProcess, tmp_path: Path, prefix: str) -> None:
    model = tmp_path / "iris.joblib"
    train_iris(model)
    config = {
        "model_algorithm": "predict_analysis",
        "model_type": "Scikit_Learn",
        "runtime": PLAIN,
        "dependencies": [
            {
                "installer": "pip",
                "packages": [
                    {
                        "package_name": "scikit-learn",
                        "package_version": "1.0",
                        "restraint": "ATLEAST",
                    }
                ],
            }
        ],
    }
    s3 = admin_s3(server)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/model/iris.joblib", Body=model.read_bytes())
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/model/config.json", Body=json.dumps(config))


def import_model(server: ServerProcess, prefix: str, version: str) -> str:
    created = signed_call(
        server,
        "POST",
        "/v1/{project_id}/models",
        {
            "model_name": "iris",
            "model_version": version,
            "model_type": "Scikit_Learn",
            "source_location": f"obs://{BUCKET}/{prefix}/model/",
        },
    )
    assert created.status_code == 200, created.text
    model_id = str(created.json()["model_id"])

    def published() -> dict[str, Any] | None:
        shown = signed_call(server, "GET", f"/v1/{{project_id}}/models/{model_id}").json()
        assert shown["model_status"] != "failed", shown
        return shown if shown["model_status"] == "published" else None

    until(published, f"model {model_id} to be published")
    return model_id


def service(server: ServerProcess, service_id: str) -> dict[str, Any]:
    shown = signed_call(server, "GET", f"/v1/{{project_id}}/services/{service_id}")
    assert shown.status_code == 200, shown.text
    return dict(shown.json())


def wait_status(server: ServerProcess, service_id: str, status: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        shown = service(server, service_id)
        assert shown["status"] != "failed" or status == "failed", shown
        return shown if shown["status"] == status else None

    return until(reached, f"service {service_id} to be {status}")


def ask(server: ServerProcess, service_id: str, flower: tuple[float, ...]) -> Any:
    body = {"data": {"req_data": [dict(zip(IRIS_FEATURES, flower, strict=True))]}}
    return signed_call(server, "POST", f"/v1/infers/{service_id}/", body)


def replica_processes(service_id: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["environ", "status", "cmdline"]):
        environ = process.info["environ"] or {}
        if (
            environ.get("OPENARTS_SERVICE_ID") == service_id
            and (process.info["cmdline"] or [])[1:3] == ["-m", "openarts.inference.server"]
            and process.info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(process)
    return found


def test_a_model_is_deployed_and_serves_predictions(server: ServerProcess, tmp_path: Path) -> None:
    admin_s3(server).create_bucket(Bucket=BUCKET)
    upload_iris(server, tmp_path, "iris-1")
    model_id = import_model(server, "iris-1", "1.0.0")

    deployed = signed_call(
        server,
        "POST",
        "/v1/{project_id}/services",
        {
            "service_name": "iris-service",
            "infer_type": "real-time",
            "config": [
                {"model_id": model_id, "weight": 100, "specification": SPEC, "instance_count": 2}
            ],
        },
    )
    assert deployed.status_code == 200, deployed.text
    service_id = deployed.json()["service_id"]
    running = wait_status(server, service_id, "running")
    assert running["access_address"].endswith(f"/v1/infers/{service_id}")
    assert running["config"][0]["model_name"] == "iris"
    assert len(replica_processes(service_id)) == 2

    for flower, species in IRIS_QUESTIONS * 4:
        answer = ask(server, service_id, flower)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["resp_data"][0]["predictresult"] == species
    # A body the model cannot read: 400 in the error shape, and the replica stays up.
    broken = signed_call(server, "POST", f"/v1/infers/{service_id}/", {"data": "not rows"})
    assert broken.status_code == 400, broken.text
    assert "error_code" in broken.json()
    assert ask(server, service_id, IRIS_QUESTIONS[0][0]).status_code == 200
    # Unsigned calls are refused.
    assert signed_call(server, "GET", "/v1/{project_id}/services").status_code == 200
    unsigned = requests.post(f"{server.endpoint}/v1/infers/{service_id}/", json={}, timeout=10)
    assert unsigned.status_code == 401

    def counted() -> dict[str, Any] | None:
        monitor = signed_call(server, "GET", f"/v1/{{project_id}}/services/{service_id}/monitor")
        shown = monitor.json()
        return shown if shown["monitors"][0]["invocation_times"] == 14 else None

    monitor = until(counted, "the monitor to count the calls", 30)
    assert monitor["monitors"][0]["failed_times"] == 0
    assert monitor["monitors"][0]["model_running_instance_count"] == 2
    assert monitor["service_instance_count"] == 2
    assert service(server, service_id)["invocation_times"] == 14

    # The same figures for Prometheus (the admin's credentials).
    scraped = signed_call(server, "GET", "/metrics").text
    labels = f'model_id="{model_id}",service_id="{service_id}"'
    assert f"openarts_inference_requests_total{{{labels}}} 14.0" in scraped, scraped
    assert f"openarts_inference_failures_total{{{labels}}} 0.0" in scraped
    assert f"openarts_inference_request_seconds_count{{{labels}}} 14.0" in scraped
    ready = f'openarts_service_replicas{{{labels},state="ready"}} 2.0'
    assert ready in scraped, scraped

    logs = signed_call(server, "GET", f"/v1/{{project_id}}/services/{service_id}/logs").json()
    assert [log["result"] for log in logs["logs"]] == ["SUCCESS"]
    events = signed_call(server, "GET", f"/v1/{{project_id}}/services/{service_id}/events")
    infos = [e["event_info"] for e in events.json()["events"]]
    assert any("ready for traffic" in info for info in infos), infos

    # The model cannot be deleted while the service uses it.
    kept = signed_call(server, "DELETE", f"/v1/{{project_id}}/models/{model_id}").json()
    assert kept["delete_failed_list"][0]["error_code"] == "ModelArts.3009"

    stop = signed_call(
        server, "PUT", f"/v1/{{project_id}}/services/{service_id}", {"status": "stopped"}
    )
    assert stop.status_code == 200, stop.text
    wait_status(server, service_id, "stopped")
    assert replica_processes(service_id) == []
    refused = ask(server, service_id, IRIS_QUESTIONS[0][0])
    assert refused.status_code == 400 and refused.json()["error_code"] == "ModelArts.4203"

    signed_call(server, "PUT", f"/v1/{{project_id}}/services/{service_id}", {"status": "running"})
    wait_status(server, service_id, "running")
    assert ask(server, service_id, IRIS_QUESTIONS[2][0]).status_code == 200

    gone = signed_call(server, "DELETE", f"/v1/{{project_id}}/services/{service_id}")
    assert gone.status_code == 200, gone.text

    def deleted() -> bool:
        answer = signed_call(server, "GET", f"/v1/{{project_id}}/services/{service_id}")
        return answer.status_code == 404 and not replica_processes(service_id)

    until(deleted, "the service and its replicas to go")
    assert ask(server, service_id, IRIS_QUESTIONS[0][0]).json()["error_code"] == "ModelArts.3502"


def test_bad_deployments_are_refused_and_make_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    admin_s3(server).create_bucket(Bucket=BUCKET)
    upload_iris(server, tmp_path, "iris-1")
    model_id = import_model(server, "iris-1", "1.0.0")

    def deploy(**config: Any) -> Any:
        entry = {"model_id": model_id, "weight": 100, "specification": SPEC, "instance_count": 1}
        return signed_call(
            server,
            "POST",
            "/v1/{project_id}/services",
            {"service_name": "bad", "infer_type": "real-time", "config": [{**entry, **config}]},
        )

    cases = [
        (deploy(model_id="0" * 32), 404, "ModelArts.3507"),
        (deploy(specification="modelarts.vm.none"), 400, "ModelArts.4507"),
        # Larger than the host, each replica would run capped at it; memory is never
        # promised twice, so two never fit.
        (deploy(specification="test.infer.huge", instance_count=2), 400, "ModelArts.3952"),
        (deploy(weight=60), 400, "ModelArts.0101"),
        (deploy(instance_count=129), 400, "ModelArts.0101"),
    ]
    for answer, status, code in cases:
        assert answer.status_code == status, answer.text
        assert answer.json()["error_code"] == code, answer.text
    listed = signed_call(server, "GET", "/v1/{project_id}/services").json()
    assert listed["total_count"] == 0
