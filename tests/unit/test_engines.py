"""ModelArts' engines by their own names: each maps to the engine that runs it here, or
is refused saying why."""

from __future__ import annotations

import pytest

from openarts.domain.engines import (
    MINDSPORE_ID,
    PYTORCH_ID,
    TENSORFLOW_ID,
    XGBOOST_ID,
    EngineChoice,
    choose_engine,
    engine_catalog,
    preset_engines,
)

# Every engine the API reference's pages and use cases name, as they name it
# (engine_id, engine_name, engine_version), and the engine that runs it here.
REFERENCE = [
    ("pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64", "PyTorch", None, PYTORCH_ID),
    (None, "PyTorch", "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64", PYTORCH_ID),
    ("pytorch-cp36-1.3.0", "PyTorch", "PyTorch-1.3.0-python3.6", PYTORCH_ID),
    ("pytorch-cp36-1.4.0-v2", "PyTorch", "PyTorch-1.4.0-python3.6-v2", PYTORCH_ID),
    (None, "TensorFlow", "tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", TENSORFLOW_ID),
    ("tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", None, None, TENSORFLOW_ID),
    (None, "TensorFlow", "TF-1.8.0-python3.6", TENSORFLOW_ID),
    (None, "TensorFlow", "TF-1.8.0-python2.7", TENSORFLOW_ID),
    (None, "Powered-Engine", "TF-1.15-python3.7-aarch64", TENSORFLOW_ID),
    (
        "mindspore_1.6.0-cann_5.0.3.6-py_3.7-euler_2.8.3-aarch64",
        "Powered-Engine",
        "mindspore_1.6.0-cann_5.0.3.6-py_3.7-euler_2.8.3-aarch64",
        MINDSPORE_ID,
    ),
    ("xgboost-sklearn-python3.6", "XGBoost-Sklearn", None, XGBOOST_ID),
    (None, "XGBoost-Sklearn", "XGBoost-0.80-Sklearn-0.18.1-python3.6", XGBOOST_ID),
    # ModelArts' current documentation (training base images).
    (None, "PyTorch", "pytorch_2.1.0-cuda_12.1-py_3.10.6-ubuntu_22.04-x86_64", PYTORCH_ID),
    (None, "MPI", "mindspore_1.3.0-cuda_10.1-py_3.7-ubuntu_1804-x86_64", MINDSPORE_ID),
    (
        None,
        "Ascend-Powered-Engine",
        "pytorch_2.1.0-cann_7.0.1.1-py_3.9-euler_2.10.7-aarch64-snt3p",
        PYTORCH_ID,
    ),
    (
        None,
        "Ascend-Powered-Engine",
        "mindspore_2.2.12-cann_7.0.1.1-py_3.9-euler_2.10.7-aarch64-snt3p",
        MINDSPORE_ID,
    ),
    # Names alone, in the cases users type them.
    (None, "pytorch", None, PYTORCH_ID),
    (None, "Tensorflow", None, TENSORFLOW_ID),
    (None, "XGBoost", None, XGBOOST_ID),
    (None, "MindSpore", None, MINDSPORE_ID),
]


@pytest.mark.parametrize(("engine_id", "name", "version", "runs_on"), REFERENCE)
def test_modelarts_engine_names_run_on_this_platforms_builds(
    engine_id: str | None, name: str | None, version: str | None, runs_on: str
) -> None:
    chosen = choose_engine(
        engine_catalog(), preset_engines(), engine_id=engine_id, name=name, version=version
    )
    assert isinstance(chosen, EngineChoice), chosen
    assert chosen.engine.id == runs_on
    # The job shows the names it was given (ModelArts' own), not the local engine's.
    if version and runs_on != chosen.engine_id:
        assert version.lower() in (chosen.engine_version.lower(), chosen.engine_id.lower())
        assert chosen.note.startswith(chosen.engine_version)
        assert "runs here as" in chosen.note


def test_the_event_says_what_runs_a_modelarts_engine() -> None:
    chosen = choose_engine(
        engine_catalog(),
        preset_engines(),
        engine_id=None,
        name="PyTorch",
        version="pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
    )
    assert isinstance(chosen, EngineChoice)
    assert chosen.note.startswith(
        "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64 runs here as PyTorch 2.13.0 (CPU)"
    )


def test_the_catalogs_own_engines_are_chosen_as_before() -> None:
    for engine in engine_catalog():
        chosen = choose_engine(
            engine_catalog(), preset_engines(), engine_id=engine.id, name=None, version=None
        )
        assert isinstance(chosen, EngineChoice) and chosen.engine == engine and not chosen.note


@pytest.mark.parametrize(
    ("engine_id", "name", "version", "said"),
    [
        ("horovod-cp36-tf-1.16.2", None, None, "Horovod has no build"),
        (
            None,
            "Horovod",
            "horovod_0.22.1-pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
            "torch.distributed",
        ),
        ("caffe-1.0.0-python2.7", "Caffe", None, "Caffe has no build"),
        (None, "NoSuchEngine", None, "is not in the engine catalog"),
        (None, "PyTorch", "pytorch_0.1-nothing", "is not in the engine catalog"),
    ],
)
def test_an_engine_that_cannot_run_here_is_refused_saying_why(
    engine_id: str | None, name: str | None, version: str | None, said: str
) -> None:
    chosen = choose_engine(
        engine_catalog(), preset_engines(), engine_id=engine_id, name=name, version=version
    )
    assert isinstance(chosen, str) and said in chosen


def test_every_preset_runs_on_an_engine_of_the_catalog_or_says_why_not() -> None:
    local = {engine.id for engine in engine_catalog()}
    for preset in preset_engines():
        assert preset.runs_on in local or (preset.runs_on is None and preset.unavailable)


def test_an_engines_folder_changes_with_its_packages() -> None:
    pytorch = next(e for e in engine_catalog() if e.id == PYTORCH_ID)
    assert pytorch.folder.startswith(PYTORCH_ID + "-")
    assert "torchvision==0.28.0+cpu" in pytorch.extras
