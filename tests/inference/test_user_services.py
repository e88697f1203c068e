"""customize_service.py written the ModelArts way, served end to end over HTTP."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx

from tests.inference.conftest import ServeFactory
from tests.inference.serving import IRIS_FEATURES, IRIS_QUESTIONS, train_iris, write_config

SKLEARN_SERVICE = """
import collections
import json

import log
from model_service.python_model_service import XgSklServingBaseService

from iris_names import SPECIES_CODES

from . import iris_names

# Helpers import by name and relatively, as ModelArts allows both.
assert iris_names.SPECIES_CODES == SPECIES_CODES

logger = log.getLogger(__name__)


class IrisService(XgSklServingBaseService):
    def _preprocess(self, data):
        logger.info("preprocessing %d bytes", len(data))
        rows = []
        json_data = json.loads(data, object_pairs_hook=collections.OrderedDict)
        for element in json_data["data"]["req_data"]:
            rows.append([float(element[name]) for name in element])
        return rows

    def _postprocess(self, data):
        return [{"predictresult": value, "code": SPECIES_CODES[value]} for value in data]
"""

PYTORCH_SERVICE = '''
import log
from model_service.pytorch_model_service import PTServingBaseService

logger = log.getLogger(__name__)


class Base(PTServingBaseService):
    """An intermediate class: it has a subclass, so it is not the service."""


class EchoService(Base):
    def __init__(self, model_name, model_path):
        super().__init__(model_name, model_path)
        self.seen_path = model_path
        self.seen_name = model_name
        # The model is any callable; the default _inference calls it on each value.
        self.model = self.describe

    def describe(self, value):
        if isinstance(value, dict):
            return {name: f.read().decode() for name, f in value.items()}
        if value == "key-error":
            raise KeyError("missing_field")
        if value == "crash":
            raise RuntimeError("the model broke")
        return value

    def _preprocess(self, data):
        logger.info("fields: %s", sorted(data))
        return data

    def _postprocess(self, data):
        return {"result": data, "model_path": self.seen_path, "model_name": self.seen_name}
'''


def write_service(model_dir: Path, source: str) -> None:
    (model_dir / "customize_service.py").write_text(textwrap.dedent(source), encoding="utf-8")


def test_xgskl_service_with_its_own_hooks(model_dir: Path, serve: ServeFactory) -> None:
    train_iris(model_dir / "iris.pkl")
    write_config(model_dir, "Scikit_Learn")
    write_service(model_dir, SKLEARN_SERVICE)
    (model_dir / "iris_names.py").write_text(
        'SPECIES_CODES = {"setosa": 0, "versicolor": 1, "virginica": 2}\n', encoding="utf-8"
    )
    server = serve(model_dir)
    rows = [dict(zip(IRIS_FEATURES, values, strict=True)) for values, _ in IRIS_QUESTIONS]
    response = server.post("/", json={"data": {"req_data": rows}})
    assert response.status_code == 200, server.log()
    codes = {"setosa": 0, "versicolor": 1, "virginica": 2}
    expected = [{"predictresult": name, "code": codes[name]} for _, name in IRIS_QUESTIONS]
    assert response.json() == {"data": {"resp_data": expected}}
    # ``import log`` loggers log at INFO into the replica's log.
    assert "preprocessing" in server.log()


def test_xgskl_service_with_only_the_default_hooks(model_dir: Path, serve: ServeFactory) -> None:
    train_iris(model_dir / "iris.joblib")
    write_service(
        model_dir,
        """
        from model_service.python_model_service import XgSklServingBaseService

        class Plain(XgSklServingBaseService):
            pass
        """,
    )
    server = serve(model_dir)
    rows = [dict(zip(IRIS_FEATURES, values, strict=True)) for values, _ in IRIS_QUESTIONS]
    response = server.post("/", json={"meta": {"id": 1}, "data": {"req_data": rows}})
    assert response.status_code == 200, server.log()
    assert response.json() == {
        "meta": {"id": 1},
        "data": {"resp_data": [{"predictresult": name} for _, name in IRIS_QUESTIONS]},
    }


def test_pytorch_service_gets_json_and_its_model_file(model_dir: Path, serve: ServeFactory) -> None:
    write_config(model_dir, "PyTorch")
    write_service(model_dir, PYTORCH_SERVICE)
    (model_dir / "weights.pth").write_bytes(b"not really weights")
    server = serve(model_dir, "--model-name", "mnist")
    response = server.post("/?flag=on", json={"text": "hello"})
    assert response.status_code == 200, server.log()
    assert response.json() == {
        "result": {"text": "hello", "flag": "on"},
        "model_path": str((model_dir / "weights.pth").resolve()),
        "model_name": "mnist",
    }
    assert "fields: ['flag', 'text']" in server.log()


def test_multipart_reaches_preprocess_as_files_by_name(
    model_dir: Path, serve: ServeFactory
) -> None:
    write_service(model_dir, PYTORCH_SERVICE)
    server = serve(model_dir)
    response = server.post(
        "/",
        files=[
            ("images", ("cat.jpg", b"meow")),
            ("images", ("dog.jpg", b"woof")),
            ("notes", ("n.txt", "héllo".encode())),
        ],
        data={"threshold": "0.5"},
    )
    assert response.status_code == 200, server.log()
    assert response.json()["result"] == {
        "images": {"cat.jpg": "meow", "dog.jpg": "woof"},
        "notes": {"n.txt": "héllo"},
        "threshold": "0.5",
    }
    # No model file: model_path is the model directory.
    assert response.json()["model_path"] == str(model_dir.resolve())


def test_user_exceptions_map_to_400_and_500_and_the_server_stays_up(
    model_dir: Path, serve: ServeFactory
) -> None:
    write_service(model_dir, PYTORCH_SERVICE)
    server = serve(model_dir)
    key_error = server.post("/", json={"x": "key-error"})
    assert key_error.status_code == 400
    assert key_error.json()["erno"] == "MR.0105"
    assert "KeyError" in key_error.json()["msg"] and "missing_field" in key_error.json()["msg"]
    crash = server.post("/", json={"x": "crash"})
    assert crash.status_code == 500
    assert crash.json()["error_code"] == "MR.0105"
    assert "the model broke" in crash.json()["error_msg"]
    assert "describe" in crash.json()["error_msg"]
    assert server.post("/", json={"x": "fine"}).json()["result"] == {"x": "fine"}
    assert httpx.get(server.url + "/health").status_code == 200
