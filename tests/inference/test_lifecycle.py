"""Readiness, signals, time limits and start failures of the model server process."""

from __future__ import annotations

import concurrent.futures
import importlib.util
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.inference.conftest import ServeFactory
from tests.inference.serving import port_answers, wait_until, write_config

# A service whose __init__ or prediction waits for a file the test creates, leaving a
# marker when it starts waiting. Its waits end by themselves so no test can hang on them.
GATED_SERVICE = """
import os
import time

from model_service.pytorch_model_service import PTServingBaseService

GATES = {gates!r}


def wait_for(name):
    open(os.path.join(GATES, name + ".waiting"), "w").close()
    deadline = time.monotonic() + 30
    while not os.path.exists(os.path.join(GATES, name)):
        if time.monotonic() > deadline:
            raise TimeoutError(name)
        time.sleep(0.01)


class GatedService(PTServingBaseService):
    def __init__(self, model_name, model_path):
        super().__init__(model_name, model_path)
        if {gate_init!r}:
            wait_for("init")
        self.model = self.answer

    def answer(self, value):
        if value == "slow":
            wait_for("predict")
        return value
"""


def gated_package(model_dir: Path, gates: Path, gate_init: bool) -> None:
    gates.mkdir()
    source = GATED_SERVICE.format(gates=str(gates), gate_init=gate_init)
    (model_dir / "customize_service.py").write_text(textwrap.dedent(source), encoding="utf-8")


def test_the_port_answers_only_once_the_model_is_loaded(
    model_dir: Path, tmp_path: Path, serve: ServeFactory
) -> None:
    gates = tmp_path / "gates"
    gated_package(model_dir, gates, gate_init=True)
    server = serve(model_dir, wait=False)
    wait_until(lambda: (gates / "init.waiting").exists(), "the service to start loading")
    assert not port_answers(server.port)
    assert not server.exited()
    (gates / "init").touch()
    server.wait_ready()
    assert server.post("/", json={"x": "ready"}).json() == {"x": "ready"}


def test_sigterm_finishes_the_request_in_flight_and_exits_0(
    model_dir: Path, tmp_path: Path, serve: ServeFactory
) -> None:
    gates = tmp_path / "gates"
    gated_package(model_dir, gates, gate_init=False)
    server = serve(model_dir)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(server.post, "/", json={"x": "slow"})
        wait_until(lambda: (gates / "predict.waiting").exists(), "the prediction to start")
        server.terminate()
        (gates / "predict").touch()
        response = in_flight.result(timeout=30)
    assert response.status_code == 200
    assert response.json() == {"x": "slow"}
    assert server.wait_exit() == 0
    assert "Traceback" not in server.log()


def test_sigterm_while_loading_exits_0(
    model_dir: Path, tmp_path: Path, serve: ServeFactory
) -> None:
    gates = tmp_path / "gates"
    gated_package(model_dir, gates, gate_init=True)
    server = serve(model_dir, wait=False)
    wait_until(lambda: (gates / "init.waiting").exists(), "the service to start loading")
    server.terminate()
    assert server.wait_exit() == 0


def test_health_answers_during_a_prediction_that_then_times_out(
    model_dir: Path, tmp_path: Path, serve: ServeFactory
) -> None:
    gates = tmp_path / "gates"
    gated_package(model_dir, gates, gate_init=False)
    server = serve(model_dir, "--timeout-s", "1")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(server.post, "/", json={"x": "slow"})
        wait_until(lambda: (gates / "predict.waiting").exists(), "the prediction to start")
        health = httpx.get(server.url + "/health", timeout=5)
        assert health.status_code == 200
        response = slow.result(timeout=30)
    assert response.status_code == 504
    assert response.json()["erno"] == "MR.0105"
    assert "did not finish within 1 s" in response.json()["msg"]
    (gates / "predict").touch()
    assert server.post("/", json={"x": "after"}).json() == {"x": "after"}


def test_predictions_inline_on_the_event_loop(
    model_dir: Path, tmp_path: Path, serve: ServeFactory
) -> None:
    gated_package(model_dir, tmp_path / "gates", gate_init=False)
    server = serve(model_dir, "--predict-in", "loop")
    assert server.post("/", json={"x": 1}).json() == {"x": 1}
    assert server.post("/", content=b"[1,").status_code == 400


def start_failure(serve: ServeFactory, model_dir: Path) -> str:
    """The log of a server that must exit 1 without ever listening."""
    server = serve(model_dir, wait=False)
    assert server.wait_exit() == 1, server.log()
    assert "cannot serve the model" in server.log()
    return server.log()


def test_a_service_on_an_engine_this_runtime_lacks_fails_to_start(
    model_dir: Path, serve: ServeFactory
) -> None:
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed here")
    (model_dir / "customize_service.py").write_text(
        "from model_service.tfserving_model_service import TfServingBaseService\n\n\n"
        "class Service(TfServingBaseService):\n    pass\n",
        encoding="utf-8",
    )
    assert "TensorFlow is not available in this runtime" in start_failure(serve, model_dir)


def test_a_builtin_handler_without_its_library_fails_to_start(
    model_dir: Path, serve: ServeFactory
) -> None:
    if importlib.util.find_spec("onnxruntime") is not None:
        pytest.skip("onnxruntime is installed here")
    write_config(model_dir, "ONNX")
    (model_dir / "model.onnx").write_bytes(b"")
    assert "'onnxruntime', which is not installed" in start_failure(serve, model_dir)


def test_two_service_classes_fail_to_start(model_dir: Path, serve: ServeFactory) -> None:
    (model_dir / "customize_service.py").write_text(
        "from model_service.pytorch_model_service import PTServingBaseService\n\n\n"
        "class One(PTServingBaseService):\n    pass\n\n\n"
        "class Two(PTServingBaseService):\n    pass\n",
        encoding="utf-8",
    )
    assert "several service classes (One, Two)" in start_failure(serve, model_dir)


def test_a_package_without_a_handler_fails_to_start(model_dir: Path, serve: ServeFactory) -> None:
    write_config(model_dir, "Scikit_Learn")
    assert "no model file (*.pkl, *.joblib, *.pickle)" in start_failure(serve, model_dir)
