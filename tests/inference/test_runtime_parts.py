"""The runtime's pieces in-process: tabular shapes, model files, dispatch, the thread, ASGI."""

from __future__ import annotations

import json
import threading
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openarts.inference.asgi_app import InferenceApp
from openarts.inference.dispatch import Dispatcher
from openarts.inference.errors import Response
from openarts.inference.json_output import encode_json
from openarts.inference.ml_request import (
    column_order,
    feature_matrix,
    read_tabular_request,
    tabular_response,
)
from openarts.inference.model_files import ML_TIERS, PYTORCH_TIERS, choose_model_file
from openarts.inference.prediction_thread import PredictionThread
from openarts.inference.request_text import RequestText


def test_column_order_prefers_the_model_then_the_schema_then_the_row() -> None:
    rows = [{"b": 1, "a": 2}]
    assert column_order(rows, ("a", "b"), ("b", "a")) == ("a", "b")
    assert column_order(rows, None, ("a", "b")) == ("a", "b")
    assert column_order(rows, None, None) == ("b", "a")
    assert column_order([[1, 2]], None, None) is None


def test_feature_matrix() -> None:
    assert feature_matrix([{"a": 1, "b": 2}, [3, 4]], ("b", "a")) == [[2, 1], [3, 4]]
    with pytest.raises(ValueError, match="row 1 has no feature 'b'"):
        feature_matrix([{"a": 1, "b": 2}, {"a": 1}], ("a", "b"))
    with pytest.raises(ValueError, match="row 0 is a str"):
        feature_matrix(["x"], None)


def test_tabular_request_and_response_shapes() -> None:
    ml = read_tabular_request({"meta": {"m": 1}, "data": {"req_data": [{"a": 1}]}})
    assert tabular_response(ml, ["x"]) == {
        "meta": {"m": 1},
        "data": {"resp_data": [{"predictresult": "x"}]},
    }
    instances = read_tabular_request({"instances": [[1]]})
    assert tabular_response(instances, [0]) == {"predictions": [0]}
    with pytest.raises(ValueError, match="2 results for 1 rows"):
        tabular_response(instances, [0, 1])
    with pytest.raises(ValueError, match="no rows"):
        read_tabular_request({"data": {}})
    with pytest.raises(ValueError, match="must be a JSON array"):
        read_tabular_request({"instances": {}})


def test_model_path_is_the_single_file_of_the_first_tier(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "labels.json").write_text("{}")
    assert choose_model_file(tmp_path, ML_TIERS) == tmp_path / "labels.json"
    (tmp_path / "model.pkl").write_bytes(b"")
    assert choose_model_file(tmp_path, ML_TIERS) == tmp_path / "model.pkl"
    (tmp_path / "other.joblib").write_bytes(b"")
    assert choose_model_file(tmp_path, ML_TIERS) == tmp_path
    # PyTorch prefers *.pt/*.pth over the *.pkl it also accepts.
    (tmp_path / "net.pth").write_bytes(b"")
    assert choose_model_file(tmp_path, PYTORCH_TIERS) == tmp_path / "net.pth"


def test_numpy_results_become_plain_json() -> None:
    value = {"a": np.array([[1, 2]]), "b": np.float32(0.5), "c": np.int64(3), "d": {1}}
    assert json.loads(encode_json(value)) == {"a": [[1, 2]], "b": 0.5, "c": 3, "d": [1]}
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        encode_json(object())


class FakePredictor:
    def __init__(self, takes_json_text: bool = False) -> None:
        self.takes_json_text = takes_json_text

    def predict(self, payload: Any) -> Any:
        action = payload["action"]
        if action == "key":
            return payload["missing"]
        if action == "exit":
            raise SystemExit(3)
        if action == "boom":
            raise RuntimeError("boom")
        if action == "unjsonable":
            return object()
        return {"seen": payload["action"], "text": isinstance(payload, RequestText)}


def call(dispatcher: Dispatcher, body: object) -> tuple[int, dict[str, Any]]:
    status, raw = dispatcher.handle(b"application/json", json.dumps(body).encode(), b"")
    return status, json.loads(raw)


def test_dispatch_maps_each_failure() -> None:
    dispatcher = Dispatcher(FakePredictor())
    assert call(dispatcher, {"action": "ok"}) == (200, {"seen": "ok", "text": False})
    status, body = call(dispatcher, {"action": "key"})
    assert (status, body["erno"]) == (400, "MR.0105")
    assert body["msg"].startswith("prediction failed: KeyError: 'missing' (in predict,")
    assert call(dispatcher, {"action": "boom"})[0] == 500
    assert call(dispatcher, {"action": "exit"})[0] == 500
    status, body = call(dispatcher, {"action": "unjsonable"})
    assert status == 500
    assert "cannot be sent as JSON" in body["msg"]
    status, raw = dispatcher.handle(b"application/json", b"{", b"")
    assert (status, json.loads(raw)["error_code"]) == (400, "MR.0101")


def test_json_text_predictors_get_request_text() -> None:
    dispatcher = Dispatcher(FakePredictor(takes_json_text=True))
    assert call(dispatcher, {"action": "ok"}) == (200, {"seen": "ok", "text": True})


async def test_prediction_thread_answers_and_times_out() -> None:
    release = threading.Event()

    def handle(content_type: bytes | None, body: bytes, query: bytes) -> Response:
        if body == b"slow":
            release.wait(10)
        return 200, body + b"!" + threading.current_thread().name.encode()

    worker = PredictionThread(handle, timeout_s=0.2)
    try:
        assert await worker.run(None, b"a", b"") == (200, b"a!prediction")
        status, body = await worker.run(None, b"slow", b"")
        assert status == 504
        assert json.loads(body)["msg"] == "the prediction did not finish within 0.2 s"
        release.set()
        assert await worker.run(None, b"b", b"") == (200, b"b!prediction")
    finally:
        release.set()
        worker.close()


class Exchange:
    """One ASGI request against the app, with what it sent back."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._messages: list[MutableMapping[str, Any]] = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> MutableMapping[str, Any]:
        return self._messages.pop(0) if self._messages else {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)


async def asgi(app: InferenceApp, method: str, path: str, chunks: list[bytes]) -> tuple[int, Any]:
    exchange = Exchange(chunks)
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"q=1",
        "headers": [(b"content-type", b"text/plain")],
    }
    await app(scope, exchange.receive, exchange.send)
    start, body = exchange.sent
    headers = dict(start["headers"])
    assert headers[b"content-length"] == str(len(body["body"])).encode()
    return start["status"], json.loads(body["body"])


async def test_asgi_routes_and_bodies() -> None:
    calls: list[tuple[bytes | None, bytes, bytes]] = []

    async def run(content_type: bytes | None, body: bytes, query: bytes) -> Response:
        calls.append((content_type, body, query))
        return 200, b'{"ok": true}'

    app = InferenceApp([("POST", "/"), ("PUT", "/v1/x")], run)
    assert await asgi(app, "GET", "/health", []) == (200, {"status": "OK"})
    assert await asgi(app, "PUT", "/v1/x/", [b"ab", b"cd"]) == (200, {"ok": True})
    assert calls == [(b"text/plain", b"abcd", b"q=1")]
    status, body = await asgi(app, "GET", "/v1/x", [])
    assert (status, body["erno"], body["msg"]) == (405, "MR.0103", "/v1/x takes PUT, not GET")
    assert (await asgi(app, "POST", "/nowhere", []))[0] == 404
    assert len(calls) == 1
    # A client gone before its body arrived gets nothing and runs nothing.
    exchange = Exchange([])
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": []}
    await app(scope, exchange.receive, exchange.send)
    assert exchange.sent == [] and len(calls) == 1
