"""Models: their statuses and the runtimes they are served in.

A runtime names an environment, as an engine does for training: the runtime of a
scikit-learn model is the scikit-learn engine's environment, PyTorch's the PyTorch
engine's (each type's default is its framework's); the plain Python runtime is Python
with nothing installed, to which a model's ``dependencies`` add what it needs. A model's
environment is that runtime's environment with its dependencies installed on top, made
when it is published and shared by every model that asks for the same.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from openarts.domain.engines import BUILTIN_ID, MINDSPORE_ID, TENSORFLOW_ID, XGBOOST_ID


class ModelStatus(StrEnum):
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    # The reference's statuses for image builds; nothing here builds images.
    BUILDING = "building"
    BUILDING_FAILED = "building_failed"


ALLOWED_MOVES: Final[dict[ModelStatus, frozenset[ModelStatus]]] = {
    ModelStatus.PUBLISHING: frozenset({ModelStatus.PUBLISHED, ModelStatus.FAILED}),
    ModelStatus.PUBLISHED: frozenset(),
    ModelStatus.FAILED: frozenset(),
    ModelStatus.BUILDING: frozenset({ModelStatus.BUILDING_FAILED, ModelStatus.PUBLISHED}),
    ModelStatus.BUILDING_FAILED: frozenset(),
}

# The reference's custom-image type: a command of the user's that serves HTTP itself.
CUSTOM_TYPE = "Image"
TEMPLATE_TYPE = "Template"
RESOURCE_TYPE = "model"


@dataclass(frozen=True, slots=True)
class ModelRuntime:
    name: str
    ai_engine: str
    engine_id: str


def runtime_catalog() -> list[ModelRuntime]:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    plain = f"python_{python}"
    return [
        ModelRuntime(
            f"scikit_learn_1.9.1-py_{python}-x86_64", "Scikit_Learn", "scikit-learn-1.9.1"
        ),
        ModelRuntime(plain, "Scikit_Learn", BUILTIN_ID),
        ModelRuntime(f"pytorch_2.13.0-cpu-py_{python}-x86_64", "PyTorch", "pytorch-2.13.0-cpu"),
        ModelRuntime(plain, "PyTorch", BUILTIN_ID),
        ModelRuntime(f"xgboost_3.2.0-cpu-py_{python}-x86_64", "XGBoost", XGBOOST_ID),
        ModelRuntime(plain, "XGBoost", BUILTIN_ID),
        ModelRuntime(f"tensorflow_2.21.0-cpu-py_{python}-x86_64", "TensorFlow", TENSORFLOW_ID),
        ModelRuntime(plain, "TensorFlow", BUILTIN_ID),
        ModelRuntime(f"mindspore_2.10.0-cpu-py_{python}-x86_64", "MindSpore", MINDSPORE_ID),
        ModelRuntime(plain, "MindSpore", BUILTIN_ID),
    ]


def plain_runtime() -> ModelRuntime:
    """Python with nothing installed (a custom model's, and any type's by its name)."""
    return next(r for r in runtime_catalog() if r.engine_id == BUILTIN_ID)


# ModelArts' own runtime names, by model type (its documentation's: python2.7,
# python3.6, tf1.13-python3.6-cpu, tf2.1-python3.7, pytorch1.4-python3.7,
# pytorch_1.8.0-cuda_10.2-py_3.7.11-ubuntu_18.04-x86_64, mindspore_1.7.0-cpu-py_3.7-…):
# a model naming one runs here in its type's own runtime.
_PYTHON = r"python[23]\.\d+"
MODELARTS_RUNTIMES = {
    "scikit_learn": _PYTHON,
    "xgboost": _PYTHON,
    "tensorflow": _PYTHON + r"|tf[-_]?\d[\w.+-]*|tensorflow[-_]\d[\w.+-]*",
    "pytorch": _PYTHON + r"|pytorch[-_]?\d[\w.+-]*",
    "mindspore": _PYTHON + r"|mindspore[-_]\d[\w.+-]*",
}


# The runtime names ModelArts' documentation lists per engine (the older list, and names
# of the current form): GET .../ai-engine-runtimes lists them beside this platform's, and
# a model naming one runs in its framework's runtime here (MODELARTS_RUNTIMES).
DOCUMENTED_RUNTIMES: Final[dict[str, tuple[str, ...]]] = {
    "TensorFlow": (
        "python2.7",
        "python3.6",
        "tf1.13-python2.7-cpu",
        "tf1.13-python2.7-gpu",
        "tf1.13-python3.6-cpu",
        "tf1.13-python3.6-gpu",
        "tf1.13-python3.7-cpu",
        "tf1.13-python3.7-gpu",
        "tf2.1-python3.7",
    ),
    "Scikit_Learn": ("python2.7", "python3.6"),
    "XGBoost": ("python2.7", "python3.6"),
    "PyTorch": (
        "python2.7",
        "python3.6",
        "python3.7",
        "pytorch1.4-python3.7",
        "pytorch_1.8.0-cuda_10.2-py_3.7.11-ubuntu_18.04-x86_64",
    ),
    "MindSpore": ("mindspore_1.7.0-cpu-py_3.7-ubuntu_18.04-x86_64",),
}


def choose_runtime(model_type: str, runtime: str | None) -> ModelRuntime | None:
    """The runtime a model of ``model_type`` runs in: the one named (or, for a ModelArts
    runtime name, the type's own), else the type's own (the first listed for the type);
    None when the type has no such runtime here."""
    own = [c for c in runtime_catalog() if c.ai_engine.lower() == model_type.lower()]
    for candidate in own:
        if not runtime or candidate.name == runtime:
            return candidate
    if own and runtime and is_modelarts_runtime(model_type, runtime):
        # The type's framework: the runtime on its engine where there is one.
        return next((c for c in own if c.engine_id != BUILTIN_ID), own[0])
    return None


def is_modelarts_runtime(model_type: str, runtime: str) -> bool:
    """Whether ``runtime`` is one of ModelArts' names for a runtime of ``model_type``."""
    pattern = MODELARTS_RUNTIMES.get(model_type.lower())
    return bool(pattern and re.fullmatch(pattern, runtime.strip(), re.IGNORECASE))


def environment_key(runtime: ModelRuntime, requirements: list[str], server: str) -> str:
    """The name of the environment a runtime plus requirements make over the model
    server ``server`` (its layer's name): models that ask for the same share one."""
    text = json.dumps([runtime.engine_id, requirements, server])
    return hashlib.sha256(text.encode()).hexdigest()[:24]
