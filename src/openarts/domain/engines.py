"""The engine catalog: each training engine and the Python environment it runs in, and
ModelArts' preset engines by their own names, each mapped to the engine that runs it here.

The built-in engine is the server's own interpreter: nothing to install, so a job on it
starts at once. The others are virtual environments made on first use, with their
packages pinned, and kept in a cache for every later job; an environment's folder is
named by its packages too, so a changed list makes a new one.

ModelArts names its engines by framework, CUDA or CANN, Python, OS and architecture
(``pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64``); code written for those runs
here on this platform's build of the same framework (one Python, CPU builds), and the job
says so in an event. Where no build of a framework exists for this platform (Horovod,
Caffe), the engine is listed as such and a job that names it is refused, saying why.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
from dataclasses import dataclass

BUILTIN_ID = "python-builtin"
PYTORCH_ID = "pytorch-2.13.0-cpu"
SKLEARN_ID = "scikit-learn-1.9.1"
TENSORFLOW_ID = "tensorflow-2.21.0-cpu"
XGBOOST_ID = "xgboost-3.2.0-cpu"
MINDSPORE_ID = "mindspore-2.10.0-cpu"

# Where PyTorch publishes its CPU builds (torch, torchvision, torchaudio).
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# What ModelArts' images hold beside their framework, and user code imports unasked.
_DATA = ("numpy==2.4.6", "pandas==3.1.1", "Pillow==13.0.0")


@dataclass(frozen=True, slots=True)
class Engine:
    id: str
    name: str
    version: str
    # Pinned requirements installed into the engine's environment; none for built-in.
    packages: tuple[str, ...]
    description: str
    # Installed after ``packages`` from ``extra_index`` as well, where they can be: an
    # engine is made without one that cannot, and says so (a missing package fails the
    # code that imports it, loudly, rather than the engine's every job).
    extras: tuple[str, ...] = ()
    extra_index: str = ""

    @property
    def builtin(self) -> bool:
        return not self.packages

    @property
    def folder(self) -> str:
        """The name of its environment's folder: its ID and a digest of its packages."""
        what = [self.packages, self.extras, self.extra_index]
        digest = hashlib.sha256(json.dumps(what).encode()).hexdigest()[:10]
        return f"{self.id}-{digest}"

    @property
    def label(self) -> str:
        """How an event names it ("PyTorch 2.13.0 (CPU)")."""
        return self.description.split(",")[0]


def engine_catalog() -> list[Engine]:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return [
        Engine(
            BUILTIN_ID,
            "Python",
            f"python_{python}-builtin",
            (),
            f"Python {python}, the server's own, with nothing installed beyond the standard "
            "library",
        ),
        Engine(
            PYTORCH_ID,
            "PyTorch",
            f"pytorch_2.13.0-cpu-py_{python}",
            ("torch==2.13.0", *_DATA, "scikit-learn==1.9.1"),
            "PyTorch 2.13.0 (CPU), with torchvision 0.28.0, NumPy, pandas, Pillow and "
            "scikit-learn (gloo for torch.distributed)",
            # torchvision's own operators are built against one build of torch: the CPU
            # one comes from PyTorch's CPU index (PyPI's links CUDA's libraries).
            extras=("torchvision==0.28.0+cpu",),
            extra_index=PYTORCH_CPU_INDEX,
        ),
        Engine(
            SKLEARN_ID,
            "Scikit_Learn",
            f"scikit-learn_1.9.1-py_{python}",
            ("scikit-learn==1.9.1", *_DATA),
            "scikit-learn 1.9.1, with NumPy, SciPy, pandas and Pillow",
        ),
        Engine(
            TENSORFLOW_ID,
            "TensorFlow",
            f"tensorflow_2.21.0-cpu-py_{python}",
            ("tensorflow-cpu==2.21.0", "pandas==3.1.1", "Pillow==13.0.0"),
            "TensorFlow 2.21.0 (CPU), with Keras 3, NumPy, pandas and Pillow",
        ),
        Engine(
            XGBOOST_ID,
            "XGBoost",
            f"xgboost_3.2.0-cpu-py_{python}",
            ("xgboost-cpu==3.2.0", "scikit-learn==1.9.1", *_DATA),
            "XGBoost 3.2.0 (CPU), with scikit-learn 1.9.1, NumPy, pandas and Pillow",
        ),
        Engine(
            MINDSPORE_ID,
            "MindSpore",
            f"mindspore_2.10.0-cpu-py_{python}",
            ("mindspore==2.10.0", "pandas==3.1.1", "Pillow==13.0.0"),
            "MindSpore 2.10.0 (CPU), with NumPy, pandas and Pillow",
        ),
    ]


def find_engine(
    catalog: list[Engine],
    *,
    engine_id: str | None = None,
    name: str | None = None,
    version: str | None = None,
) -> Engine | None:
    """The engine an ID, or a name and version, choose (names match case-insensitively,
    as users type them both ways)."""
    for engine in catalog:
        if engine_id is not None:
            if engine.id == engine_id:
                return engine
        elif (
            name is not None
            and engine.name.lower() == name.lower()
            and (version is None or engine.version == version)
        ):
            return engine
    return None


# -- ModelArts' preset engines ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PresetEngine:
    """An engine as ModelArts names it, and the engine of the catalog that runs it here
    (``runs_on``), or why none can (``unavailable``)."""

    engine_id: str
    engine_name: str
    engine_version: str
    runs_on: str | None
    v1_compatible: bool = False
    unavailable: str = ""


NO_HOROVOD = (
    "Horovod has no build for this platform here (it compiles against its framework, and "
    "no release builds with PyTorch 2.13 or TensorFlow 2.21); use the PyTorch engine's "
    "torch.distributed, which ModelArts' PyTorch jobs use too, or a custom image"
)
NO_CAFFE = "Caffe has no build for Python 3 on this platform; use a custom image"


@functools.cache
def preset_engines() -> list[PresetEngine]:
    """ModelArts' preset engines: those its API reference names and those its current
    documentation lists (training base images), new ones first."""
    new = [
        ("pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64", "PyTorch", PYTORCH_ID),
        ("pytorch_2.1.0-cuda_12.1-py_3.10.6-ubuntu_22.04-x86_64", "PyTorch", PYTORCH_ID),
        ("tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", "TensorFlow", TENSORFLOW_ID),
        ("horovod_0.20.0-tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", "Horovod", None),
        ("horovod_0.22.1-pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64", "Horovod", None),
        ("mindspore_1.3.0-cuda_10.1-py_3.7-ubuntu_1804-x86_64", "MPI", MINDSPORE_ID),
        ("mindspore_1.3.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64", "MPI", MINDSPORE_ID),
        (
            "tensorflow_1.15-cann_5.1.0-py_3.7-euler_2.8.3-aarch64",
            "Ascend-Powered-Engine",
            TENSORFLOW_ID,
        ),
        (
            "mindspore_1.7.0-cann_5.1.0-py_3.7-euler_2.8.3-aarch64",
            "Ascend-Powered-Engine",
            MINDSPORE_ID,
        ),
        (
            "mindspore_1.6.0-cann_5.0.3.6-py_3.7-euler_2.8.3-aarch64",
            "Ascend-Powered-Engine",
            MINDSPORE_ID,
        ),
        (
            "pytorch_2.1.0-cann_7.0.1.1-py_3.9-euler_2.10.7-aarch64-snt3p",
            "Ascend-Powered-Engine",
            PYTORCH_ID,
        ),
        (
            "mindspore_2.2.12-cann_7.0.1.1-py_3.9-euler_2.10.7-aarch64-snt3p",
            "Ascend-Powered-Engine",
            MINDSPORE_ID,
        ),
    ]
    engines = [
        PresetEngine(engine_id, name, engine_id, runs_on, unavailable="" if runs_on else NO_HOROVOD)
        for engine_id, name, runs_on in new
    ]
    # The old-version engines (IDs and versions as the reference's examples give them).
    old = [
        ("pytorch-cp36-1.3.0", "PyTorch", "PyTorch-1.3.0-python3.6", PYTORCH_ID, ""),
        ("pytorch-cp36-1.4.0-v2", "PyTorch", "PyTorch-1.4.0-python3.6-v2", PYTORCH_ID, ""),
        ("tf-1.8.0-python3.6", "TensorFlow", "TF-1.8.0-python3.6", TENSORFLOW_ID, ""),
        ("tf-1.8.0-python2.7", "TensorFlow", "TF-1.8.0-python2.7", TENSORFLOW_ID, ""),
        (
            "tf-1.15-python3.7-aarch64",
            "Ascend-Powered-Engine",
            "TF-1.15-python3.7-aarch64",
            TENSORFLOW_ID,
            "",
        ),
        (
            "xgboost-sklearn-python3.6",
            "XGBoost-Sklearn",
            "XGBoost-0.80-Sklearn-0.18.1-python3.6",
            XGBOOST_ID,
            "",
        ),
        ("horovod-cp36-tf-1.16.2", "Horovod", "0.16.2-TF-1.13.1-python3.6", None, NO_HOROVOD),
        ("caffe-1.0.0-python2.7", "Caffe", "caffe-1.0.0-python2.7", None, NO_CAFFE),
    ]
    engines += [
        PresetEngine(engine_id, name, version, runs_on, True, unavailable)
        for engine_id, name, version, runs_on, unavailable in old
    ]
    return engines


def _key(text: str) -> str:
    """Names and versions compared as users type them: any case, with or without - and _."""
    return re.sub(r"[^a-z0-9.]", "", text.lower())


# Another name ModelArts' examples give an engine.
_NAME_ALIASES = {_key("Powered-Engine"): _key("Ascend-Powered-Engine")}


def _name_key(name: str) -> str:
    key = _key(name)
    return _NAME_ALIASES.get(key, key)


def find_preset(
    presets: list[PresetEngine],
    *,
    engine_id: str | None = None,
    name: str | None = None,
    version: str | None = None,
) -> PresetEngine | None:
    """The preset engine an ID, or a name (and version), name; None when none does."""
    for preset in presets:
        if engine_id is not None:
            if _key(engine_id) in (_key(preset.engine_id), _key(preset.engine_version)):
                return preset
        elif (
            name is not None
            and _name_key(name) == _name_key(preset.engine_name)
            and (
                version is None
                or _key(version) in (_key(preset.engine_version), _key(preset.engine_id))
            )
        ):
            return preset
    return None


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """What a job or algorithm named, and the engine of the catalog that runs it."""

    engine: Engine
    engine_id: str
    engine_name: str
    engine_version: str
    # Said in an event when the engine named is ModelArts' and runs on another build.
    note: str = ""


def choose_engine(
    catalog: list[Engine],
    presets: list[PresetEngine],
    *,
    engine_id: str | None,
    name: str | None,
    version: str | None,
) -> EngineChoice | str:
    """The engine an ID or a name and version choose: this catalog's own first, then
    ModelArts' preset engines. A text says why none can be chosen."""
    own = (
        find_engine(catalog, engine_id=engine_id)
        if engine_id
        else find_engine(catalog, name=name, version=version)
        if name
        else None
    )
    if own is not None:
        return EngineChoice(own, own.id, own.name, own.version)
    if engine_id:
        preset = find_preset(presets, engine_id=engine_id)
    elif name:
        preset = find_preset(presets, name=name, version=version)
        if preset is None and version is None:
            # A framework's name alone: its engine here.
            local = find_engine(catalog, name=name)
            if local is not None:
                return EngineChoice(local, local.id, local.name, local.version)
    else:
        return "no engine named"
    what = f"engine_id {engine_id}" if engine_id else f"engine {name} {version or ''}".rstrip()
    if preset is None:
        return f"{what} is not in the engine catalog"
    if preset.runs_on is None:
        return f"{what}: {preset.unavailable}"
    engine = find_engine(catalog, engine_id=preset.runs_on)
    if engine is None:
        return f"{what}: its engine {preset.runs_on} is not in this server's catalog"
    return EngineChoice(
        engine,
        preset.engine_id,
        preset.engine_name,
        preset.engine_version,
        f"{preset.engine_version} runs here as {engine.label}, on Python "
        f"{sys.version_info.major}.{sys.version_info.minor}",
    )
