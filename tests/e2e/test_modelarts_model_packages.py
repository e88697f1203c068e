"""Model packages as ModelArts' documentation publishes them, against a real server: the
custom-script examples for Scikit_Learn and XGBoost (``customize_service.py`` on
``XgSklServingBaseService``, ``from sklearn.externals import joblib`` as the old
runtimes had it, config.json naming ModelArts' runtime ``python3.6`` and a dependency
with an empty version and restraint: "any"), and a custom image's Flask app, which
listens on 8080, answers GET /health with {"health": "true"}, installs its own
requirements.txt and needs no config.json, run as two replicas. Each is imported,
deployed and called with the documented request; only the endpoint, the credentials
and the data (made here) differ. The XGBoost model is what a training job on
ModelArts' XGBoost-Sklearn engine wrote, as a ModelArts user would make it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openarts.testing.server import ServerProcess
from tests.e2e.test_services import until
from tests.inference.serving import IRIS_FEATURES, IRIS_ROWS, train_iris
from tests.storage.conftest import admin_s3

from .conftest import signed_call

pytestmark = pytest.mark.e2e

BUCKET = "modelarts-examples"
SPEC = "test.infer.small"
FLAVORS = f"""
flavors:
  - name: {SPEC}
    vcpus: 0.25
    memory_gib: 0.5
    uses: [inference]
  - name: test.train.small
    vcpus: 0.5
    memory_gib: 1
    uses: [training]
"""
# The documented request of the Scikit_Learn and XGBoost examples: one row per sample,
# named features in training order.
SETOSA, VIRGINICA = IRIS_ROWS[0], IRIS_ROWS[-1]

# ModelArts' Scikit_Learn custom-script example.
SKLEARN_SERVICE = """# coding:utf-8
import collections
import json
from sklearn.externals import joblib
from model_service.python_model_service import XgSklServingBaseService


class user_Service(XgSklServingBaseService):

    # request data preprocess
    def _preprocess(self, data):
        list_data = []
        json_data = json.loads(data, object_pairs_hook=collections.OrderedDict)
        for element in json_data["data"]["req_data"]:
            array = []
            for each in element:
                array.append(element[each])
            list_data.append(array)
        return list_data

    # predict
    def _inference(self, data):
        sk_model = joblib.load(self.model_path)
        pre_result = sk_model.predict(data)
        pre_result = pre_result.tolist()
        return pre_result

    # predict result process
    def _postprocess(self, data):
        resp_data = []
        for element in data:
            resp_data.append({"predictresult": element})
        return resp_data
"""

# ModelArts' XGBoost custom-script example.
XGBOOST_SERVICE = """# coding:utf-8
import collections
import json
import xgboost as xgb
from model_service.python_model_service import XgSklServingBaseService


class user_Service(XgSklServingBaseService):

    # request data preprocess
    def _preprocess(self, data):
        list_data = []
        json_data = json.loads(data, object_pairs_hook=collections.OrderedDict)
        for element in json_data["data"]["req_data"]:
            array = []
            for each in element:
                array.append(element[each])
            list_data.append(array)
        return list_data

    # predict
    def _inference(self, data):
        xg_model = xgb.Booster(model_file=self.model_path)
        pre_data = xgb.DMatrix(data)
        pre_result = xg_model.predict(pre_data)
        pre_result = pre_result.tolist()
        return pre_result

    # predict result process
    def _postprocess(self, data):
        resp_data = []
        for element in data:
            resp_data.append({"predict_result": element})
        return resp_data
"""

# A training script on the XGBoost-Sklearn engine that leaves a model package in
# --train_url, as ModelArts users write them (the package's files beside its code).
XGBOOST_TRAIN = """
import argparse, json, os, shutil
import numpy as np
import xgboost as xgb

parser = argparse.ArgumentParser()
parser.add_argument("--data_url")
parser.add_argument("--train_url")
args, _ = parser.parse_known_args()
rows = json.load(open(os.path.join(args.data_url, "iris.json")))
features = np.array([row[:4] for row in rows], dtype=float)
labels = np.array([1.0 if row[4] == "setosa" else 0.0 for row in rows])
booster = xgb.train(
    {"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(features, label=labels), 20
)
model = os.path.join(args.train_url, "model")
os.makedirs(model, exist_ok=True)
booster.save_model(os.path.join(model, "xgboost.model"))
here = os.path.dirname(os.path.abspath(__file__))
for name in ("config.json", "customize_service.py"):
    shutil.copy(os.path.join(here, "package", name), os.path.join(model, name))
print("trained", booster.num_boosted_rounds(), "rounds")
"""

# A custom image's app as ModelArts' custom-image rules describe it: port 8080, the
# inference API at POST / taking the images form field, GET /health.
FLASK_APP = """
import os
import socket

from flask import Flask, jsonify, request
from PIL import Image

app = Flask(__name__)


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"health": "true"})


@app.route("/", methods=["POST"])
def predict():
    image = Image.open(request.files["images"]).convert("L")
    pixels = list(image.getdata())
    brightness = sum(pixels) / len(pixels) / 255
    return jsonify(
        {
            "mnist_result": round(brightness * 9),
            "size": list(image.size),
            "host": socket.gethostname(),
            "model_dir": sorted(os.listdir("/home/mind/model")),
        }
    )


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, engine_cache: Path) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("model-packages") / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {"OPENARTS_RECONCILE_INTERVAL_S": "0.5", "OPENARTS_ENGINE_CACHE": str(engine_cache)}
    process = ServerProcess(home, env=env).start()
    try:
        admin_s3(process).create_bucket(Bucket=BUCKET)
        yield process
    finally:
        process.close()


def put(server: ServerProcess, key: str, body: bytes | str) -> None:
    data = body.encode() if isinstance(body, str) else body
    admin_s3(server).put_object(Bucket=BUCKET, Key=key, Body=data)


def import_model(server: ServerProcess, body: dict[str, Any]) -> dict[str, Any]:
    created = signed_call(server, "POST", "/v1/{project_id}/models", body)
    assert created.status_code == 200, created.text
    model_id = created.json()["model_id"]

    def published() -> dict[str, Any] | None:
        shown = signed_call(server, "GET", f"/v1/{{project_id}}/models/{model_id}").json()
        assert shown["model_status"] != "failed", json.dumps(shown)
        return dict(shown) if shown["model_status"] == "published" else None

    return until(published, f"model {model_id} to be published", timeout_s=300)


def deploy(server: ServerProcess, model_id: str, count: int = 1) -> str:
    body = {
        "service_name": f"svc-{model_id[:8]}",
        "infer_type": "real-time",
        "config": [
            {"model_id": model_id, "weight": 100, "specification": SPEC, "instance_count": count}
        ],
    }
    deployed = signed_call(server, "POST", "/v1/{project_id}/services", body)
    assert deployed.status_code == 200, deployed.text
    service_id = str(deployed.json()["service_id"])

    def running() -> bool:
        shown = signed_call(server, "GET", f"/v1/{{project_id}}/services/{service_id}").json()
        assert shown["status"] != "failed", shown
        return bool(shown["status"] == "running")

    until(running, f"service {service_id} to run", timeout_s=180)
    return service_id


def train(server: ServerProcess, job: dict[str, Any], timeout_s: float) -> str:
    """Create a training job and wait for it to complete; its ID."""
    created = signed_call(server, "POST", "/v2/{project_id}/training-jobs", job)
    assert created.status_code in (200, 201), created.text
    job_id = str(created.json()["metadata"]["id"])

    def finished() -> dict[str, Any] | None:
        shown = signed_call(server, "GET", f"/v2/{{project_id}}/training-jobs/{job_id}").json()
        phase = shown["status"]["phase"]
        assert phase not in ("Failed", "Abnormal", "Terminated"), shown
        return dict(shown) if phase == "Completed" else None

    until(finished, f"training job {job_id} to complete", timeout_s=timeout_s)
    return job_id


def delete_service(server: ServerProcess, service_id: str) -> None:
    gone = signed_call(server, "DELETE", f"/v1/{{project_id}}/services/{service_id}")
    assert gone.status_code in (200, 204), gone.text


def iris_request(*rows: tuple[Any, ...]) -> dict[str, Any]:
    return {"data": {"req_data": [dict(zip(IRIS_FEATURES, row[:4], strict=True)) for row in rows]}}


def test_the_scikit_learn_example_package_runs_as_published(
    server: ServerProcess, tmp_path: Path
) -> None:
    train_iris(tmp_path / "model.pkl")
    config = {
        "model_type": "Scikit_Learn",
        "model_algorithm": "predict_analysis",
        "runtime": "python3.6",
        "apis": [
            {
                "url": "/",
                "method": "post",
                "request": {
                    "Content-type": "application/json",
                    "data": {
                        "type": "object",
                        "properties": {"data": {"type": "object"}},
                    },
                },
                "response": {
                    "Content-type": "application/json",
                    "data": {"type": "object", "properties": {"resp_data": {"type": "array"}}},
                },
            }
        ],
        "dependencies": [
            {
                "installer": "pip",
                "packages": [
                    {"restraint": "", "package_version": "", "package_name": "scikit-learn"}
                ],
            }
        ],
    }
    put(server, "sklearn/model/model.pkl", (tmp_path / "model.pkl").read_bytes())
    put(server, "sklearn/model/config.json", json.dumps(config))
    put(server, "sklearn/model/customize_service.py", SKLEARN_SERVICE)
    model = import_model(
        server,
        {
            "model_name": "iris-sklearn",
            "model_version": "0.0.1",
            "model_type": "Scikit_Learn",
            "runtime": "python3.6",
            "source_location": f"obs://{BUCKET}/sklearn/model/",
        },
    )
    # ModelArts' runtime name runs here in scikit-learn's own runtime.
    assert model["runtime"].startswith("scikit_learn_"), model
    service_id = deploy(server, model["model_id"])
    answer = signed_call(
        server, "POST", f"/v1/infers/{service_id}/", iris_request(SETOSA, VIRGINICA)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    results = body.get("data", body).get("resp_data", body.get("resp_data"))
    assert results == [{"predictresult": "setosa"}, {"predictresult": "virginica"}], body
    delete_service(server, service_id)


def test_the_xgboost_example_package_from_a_training_job(
    server: ServerProcess,
) -> None:
    put(server, "data/iris.json", json.dumps([list(row) for row in IRIS_ROWS]))
    put(server, "xgb-code/train.py", XGBOOST_TRAIN)
    config = {
        "model_type": "XGBoost",
        "model_algorithm": "predict_analysis",
        "runtime": "python3.6",
        "dependencies": [
            {"installer": "pip", "packages": [{"package_name": "xgboost", "restraint": ""}]}
        ],
    }
    put(server, "xgb-code/package/config.json", json.dumps(config))
    put(server, "xgb-code/package/customize_service.py", XGBOOST_SERVICE)
    job = {
        "kind": "job",
        "metadata": {"name": "xgb-iris"},
        "algorithm": {
            "code_dir": f"/{BUCKET}/xgb-code/",
            "boot_file": f"/{BUCKET}/xgb-code/train.py",
            "engine": {
                "engine_name": "XGBoost-Sklearn",
                "engine_version": "XGBoost-0.80-Sklearn-0.18.1-python3.6",
            },
            "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/data/"}}}],
            "outputs": [
                {"name": "train_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/xgb-out/"}}}
            ],
        },
        "spec": {"resource": {"flavor_id": "test.train.small", "node_count": 1}},
    }
    job_id = train(server, job, timeout_s=300)
    model = import_model(
        server,
        {
            "model_name": "iris-xgboost",
            "model_version": "0.0.1",
            "model_type": "XGBoost",
            "source_location": f"obs://{BUCKET}/xgb-out/model/",
            "source_job_id": job_id,
        },
    )
    assert model["runtime"].startswith("xgboost_"), model
    service_id = deploy(server, model["model_id"])
    answer = signed_call(
        server, "POST", f"/v1/infers/{service_id}/", iris_request(SETOSA, VIRGINICA)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    results = body.get("data", body).get("resp_data", body.get("resp_data"))
    assert [round(r["predict_result"]) for r in results] == [1, 0], body
    delete_service(server, service_id)


def png(shade: int) -> bytes:
    """A 28x28 grey PNG of one shade, made with the standard library."""
    import struct
    import zlib

    width = height = 28
    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_a_flask_custom_image_app_serves_on_8080_with_two_replicas(
    server: ServerProcess,
) -> None:
    put(server, "flask/model/app.py", FLASK_APP)
    put(server, "flask/model/requirements.txt", "flask\nPillow\n")
    model = import_model(
        server,
        {
            "model_name": "mnist-flask",
            "model_version": "0.0.1",
            "model_type": "Image",
            "source_location": f"obs://{BUCKET}/flask/model/",
            # As the image's CMD would: the package where ModelArts puts it.
            "cmd": "cd /home/mind/model && exec python app.py",
        },
    )
    service_id = deploy(server, model["model_id"], count=2)
    hosts: set[str] = set()
    deadline = time.monotonic() + 60
    while len(hosts) < 2:
        assert time.monotonic() < deadline, hosts
        for shade, digit in ((255, 9), (0, 0)):
            answer = signed_call(
                server,
                "POST",
                f"/v1/infers/{service_id}/",
                files={"images": ("seven.png", png(shade), "image/png")},
            )
            assert answer.status_code == 200, answer.text
            result = answer.json()
            assert result["mnist_result"] == digit and result["size"] == [28, 28], result
            assert "app.py" in result["model_dir"], result
            hosts.add(result["host"])
    health = signed_call(server, "GET", f"/v1/infers/{service_id}/health")
    assert health.status_code == 200 and health.json() == {"health": "true"}, health.text
    delete_service(server, service_id)


def test_a_model_environment_sees_none_of_the_servers_packages(
    server: ServerProcess,
) -> None:
    """pandas and boto3 are installed beside the server; a plain-Python model sees
    neither, nor the platform's own code beyond its model server."""
    code = """
from model_service.python_model_service import XgSklServingBaseService
import importlib.util


class Probe(XgSklServingBaseService):
    def _preprocess(self, data):
        return data

    def _inference(self, data):
        names = ("pandas", "boto3", "fastapi", "sqlalchemy", "openarts.server", "moxing")
        return {n: importlib.util.find_spec(n) is not None for n in names}

    def _postprocess(self, data):
        return data
"""
    config = {"model_type": "Scikit_Learn", "model_algorithm": "predict_analysis"}
    put(server, "probe/model/config.json", json.dumps(config))
    put(server, "probe/model/customize_service.py", code)
    model = import_model(
        server,
        {
            "model_name": "probe",
            "model_version": "0.0.1",
            "model_type": "Scikit_Learn",
            "runtime": f"python_{sys.version_info.major}.{sys.version_info.minor}",
            "source_location": f"obs://{BUCKET}/probe/model/",
        },
    )
    service_id = deploy(server, model["model_id"])
    answer = signed_call(server, "POST", f"/v1/infers/{service_id}/", {"x": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["resp_data"] == {
        "pandas": False,
        "boto3": False,
        "fastapi": False,
        "sqlalchemy": False,
        "openarts.server": False,
        "moxing": True,
    }, answer.text
    delete_service(server, service_id)


# A custom image's Flask app as Huawei's sample writes it: HTTPS on 8080 with a
# certificate made at its start (ssl_context="adhoc"), a greeting API and /health.
HTTPS_APP = """
import json

from flask import Flask, request

app = Flask(__name__)


@app.route("/greet", methods=["POST"])
def greet():
    data = json.loads(request.get_data(as_text=True))
    return json.dumps({"response": "Hello, {}!".format(data["name"])})


@app.route("/", methods=["POST"])
def default():
    data = json.loads(request.get_data(as_text=True))
    return "called default func: {}".format(data)


@app.route("/health", methods=["GET"])
def healthy():
    return '{"status": "OK"}'


# host must be "0.0.0.0", port must be 8080
if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080, ssl_context="adhoc")
"""


def test_a_custom_image_serving_https_is_reached_through_its_relay(
    server: ServerProcess,
) -> None:
    config = {
        "model_type": "Image",
        "health": {"protocol": "https", "check_method": "HTTP", "url": "/health"},
        "apis": [
            {
                "protocol": "https",
                "url": "/greet",
                "method": "post",
                "request": {"Content-type": "application/json", "data": {"type": "object"}},
                "response": {"Content-type": "application/json", "data": {"type": "object"}},
            }
        ],
    }
    put(server, "https/model/app.py", HTTPS_APP)
    put(server, "https/model/config.json", json.dumps(config))
    put(server, "https/model/requirements.txt", "flask\ncryptography\n")
    model = import_model(
        server,
        {
            "model_name": "greeter",
            "model_version": "0.0.1",
            "model_type": "Image",
            "source_location": f"obs://{BUCKET}/https/model/",
            "cmd": "cd /home/mind/model && exec python app.py",
        },
    )
    service_id = deploy(server, model["model_id"])
    answer = signed_call(server, "POST", f"/v1/infers/{service_id}/greet", {"name": "ModelArts"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"response": "Hello, ModelArts!"}, answer.text
    delete_service(server, service_id)
