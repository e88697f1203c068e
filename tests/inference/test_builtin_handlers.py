"""A scikit-learn model served by the built-in handler, end to end over HTTP."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.inference.serving import (
    IRIS_FEATURES,
    IRIS_QUESTIONS,
    ModelServer,
    iris_schema,
    train_iris,
    write_config,
)

ERROR_KEYS = ["error_code", "error_msg", "erno", "msg"]


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    model_dir: Path = tmp_path_factory.mktemp("iris") / "model"
    model_dir.mkdir()
    train_iris(model_dir / "model.pkl")
    write_config(
        model_dir,
        "Scikit_Learn",
        apis=[
            {
                "protocol": "http",
                "url": "/predict",
                "method": "post",
                "request": {"Content-type": "application/json", "data": iris_schema()},
            },
            {"url": "/v1/classify", "method": "PUT"},
        ],
    )
    server = ModelServer(model_dir)
    try:
        yield server.start()
    finally:
        server.stop()


def req_data_body(shuffle: bool) -> dict[str, object]:
    rows = []
    for values, _ in IRIS_QUESTIONS:
        pairs = list(zip(IRIS_FEATURES, values, strict=True))
        if shuffle:
            random.Random(7).shuffle(pairs)
        rows.append(dict(pairs))
    return {"meta": {"uuid": "abc"}, "data": {"req_data": rows}}


EXPECTED = [species for _, species in IRIS_QUESTIONS]


def test_health(iris: ModelServer) -> None:
    response = httpx.get(iris.url + "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "OK"}


def test_req_data_gets_the_right_species_and_meta_back(iris: ModelServer) -> None:
    # Keys arrive shuffled: the schema in config.json puts them back in training order.
    response = iris.post("/", json=req_data_body(shuffle=True))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "meta": {"uuid": "abc"},
        "data": {"resp_data": [{"predictresult": species} for species in EXPECTED]},
    }


def test_instances_shape(iris: ModelServer) -> None:
    body = {"instances": [list(values) for values, _ in IRIS_QUESTIONS]}
    response = iris.post("/", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": EXPECTED}


def test_declared_apis_route(iris: ModelServer) -> None:
    predict = iris.post("/predict", json=req_data_body(shuffle=False))
    assert predict.status_code == 200, predict.text
    classify = httpx.put(iris.url + "/v1/classify", json=req_data_body(shuffle=False))
    assert classify.status_code == 200, classify.text
    assert predict.json() == classify.json()
    assert httpx.get(iris.url + "/predict").status_code == 405
    missing = httpx.post(iris.url + "/elsewhere", json={})
    assert missing.status_code == 404
    assert list(missing.json()) == ERROR_KEYS


def test_bad_body_is_400_and_the_next_request_works(iris: ModelServer) -> None:
    response = iris.post("/", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ERROR_KEYS
    assert body["error_code"] == body["erno"] == "MR.0101"
    assert body["error_msg"] == body["msg"]
    assert "not valid JSON" in body["msg"]
    assert iris.post("/", json=req_data_body(shuffle=False)).status_code == 200


def test_unusable_rows_are_400_prediction_errors(iris: ModelServer) -> None:
    no_rows = iris.post("/", json={"data": {}})
    assert no_rows.status_code == 400
    assert no_rows.json()["erno"] == "MR.0105"
    assert "req_data" in no_rows.json()["msg"]
    short = iris.post("/", json={"data": {"req_data": [{"sepal_length": 1.0}]}})
    assert short.status_code == 400
    assert "sepal_width" in short.json()["msg"]


def test_multipart_is_refused_by_a_json_only_model(iris: ModelServer) -> None:
    response = iris.post("/", files={"file": ("a.csv", b"1,2,3,4")})
    assert response.status_code == 400
    assert response.json()["erno"] == "MR.0101"


def test_keep_alive_serves_several_requests_on_one_connection(iris: ModelServer) -> None:
    body = json.dumps({"instances": [list(IRIS_QUESTIONS[0][0])]}).encode()
    request = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.create_connection(("127.0.0.1", iris.port), timeout=10) as connection:
        reader = connection.makefile("rb")
        for _ in range(3):
            connection.sendall(request)
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.partition(b":")
                assert name.lower() != b"connection" or b"close" not in value.lower()
                if name.lower() == b"content-length":
                    length = int(value)
            assert json.loads(reader.read(length)) == {"predictions": ["setosa"]}
