"""Which path a model service is given as ``model_path``.

ModelArts documents the directory for TensorFlow, MXNet and Caffe, and "the model file"
for PyTorch and the ML engines without saying how the file is found. The rule here:

- directory engines (TensorFlow, MXNet, Caffe, MindSpore's ``SingleNodeService``, Spark,
  whose models are directories) get the model directory;
- file engines (PyTorch, scikit-learn, XGBoost) get the one file at the top of the model
  directory whose suffix that engine saves; suffixes are searched in tiers, most
  specific first, and the first tier with any match decides. Zero or several matches in
  that tier give the directory, with a log line saying why, so code that joins its own
  file name onto ``model_path`` keeps working.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from openarts.inference.package_config import CONFIG_FILE

logger = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".pkl", ".joblib", ".pickle")
XGBOOST_SUFFIXES = (".model", ".bst", ".ubj", ".xgb")
TORCH_SUFFIXES = (".pt", ".pth")
ONNX_SUFFIXES = (".onnx",)

# Tiers for services deriving the ModelArts bases. ``.m`` is what the preset ML runtime
# expected; ``.json`` comes last because a package holds other JSON files.
PYTORCH_TIERS: tuple[tuple[str, ...], ...] = (TORCH_SUFFIXES, (".pkl", ".bin"))
ML_TIERS: tuple[tuple[str, ...], ...] = (
    (*PICKLE_SUFFIXES, ".m", *XGBOOST_SUFFIXES),
    (".json",),
)


def model_files(model_dir: Path, suffixes: Sequence[str]) -> list[Path]:
    """Regular files at the top of ``model_dir`` with one of ``suffixes``, sorted."""
    wanted = {suffix.lower() for suffix in suffixes}
    return sorted(
        path
        for path in model_dir.iterdir()
        if path.is_file() and path.suffix.lower() in wanted and path.name != CONFIG_FILE
    )


def choose_model_file(model_dir: Path, tiers: Sequence[Sequence[str]]) -> Path:
    """The single model file of the first tier with matches, else ``model_dir``."""
    for suffixes in tiers:
        found = model_files(model_dir, suffixes)
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(path.name for path in found)
            logger.warning("several model files (%s); model_path is the directory", names)
            return model_dir
    logger.info("no model file found in %s; model_path is the directory", model_dir)
    return model_dir


def single_model_file(model_dir: Path, suffixes: Sequence[str], engine: str) -> Path:
    """The one file a built-in handler serves; its absence or ambiguity stops the start."""
    found = model_files(model_dir, suffixes)
    patterns = ", ".join(f"*{suffix}" for suffix in suffixes)
    if not found:
        raise FileNotFoundError(f"{engine}: no model file ({patterns}) in {model_dir}")
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise FileNotFoundError(f"{engine}: several model files in {model_dir}: {names}")
    return found[0]
