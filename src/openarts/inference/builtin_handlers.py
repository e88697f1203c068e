"""The handlers a package without ``customize_service.py`` is served by, per model type.

========================  ===========================================  ===============
model_type                model file (top of the model directory)      library
========================  ===========================================  ===============
Scikit_Learn              one ``*.pkl`` / ``*.joblib`` / ``*.pickle``  joblib or pickle
XGBoost                   one ``*.model``/``*.bst``/``*.ubj``/``*.xgb``  xgboost
                          or ``*.json``, else a pickled XGBoost model
PyTorch                   one TorchScript ``*.pt`` / ``*.pth``         torch
ONNX                      one ``*.onnx``                               onnxruntime
========================  ===========================================  ===============

All of them answer the tabular shapes of ``ml_request``. A missing library or model file
stops the start with a message that names it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from openarts.inference.ml_request import (
    column_order,
    feature_matrix,
    read_tabular_request,
    tabular_response,
)
from openarts.inference.model_files import (
    ONNX_SUFFIXES,
    PICKLE_SUFFIXES,
    TORCH_SUFFIXES,
    XGBOOST_SUFFIXES,
    model_files,
    single_model_file,
)
from openarts.inference.model_loaders import (
    OnnxModel,
    PickledModel,
    TabularModel,
    TorchScriptModel,
    XGBoostModel,
    load_pickle,
    optional_module,
)
from openarts.inference.package_config import PackageConfig
from openarts.inference.request_text import RequestText


class NoHandlerError(ValueError):
    pass


class TabularHandler:
    """A tabular model behind the ModelArts ML and ``instances`` request shapes."""

    # JSON only, like every ModelArts ML engine; multipart is refused as unreadable.
    takes_json_text = True

    def __init__(self, model: TabularModel, schema_features: tuple[str, ...] | None) -> None:
        self._model = model
        self._schema_features = schema_features

    def predict(self, text: RequestText) -> dict[str, Any]:
        request = read_tabular_request(text.parsed)
        if not request.rows:
            return tabular_response(request, [])
        columns = column_order(request.rows, self._model.feature_names, self._schema_features)
        return tabular_response(request, self._model.predict(feature_matrix(request.rows, columns)))


def _sklearn(model_dir: Path) -> TabularModel:
    return PickledModel(load_pickle(single_model_file(model_dir, PICKLE_SUFFIXES, "Scikit_Learn")))


def _xgboost(model_dir: Path) -> TabularModel:
    optional_module("xgboost", "XGBoost")
    native = (*XGBOOST_SUFFIXES, ".json")
    if model_files(model_dir, native):
        return XGBoostModel(single_model_file(model_dir, native, "XGBoost"))
    return PickledModel(load_pickle(single_model_file(model_dir, PICKLE_SUFFIXES, "XGBoost")))


def _pytorch(model_dir: Path) -> TabularModel:
    optional_module("torch", "PyTorch")
    return TorchScriptModel(single_model_file(model_dir, TORCH_SUFFIXES, "PyTorch"))


def _onnx(model_dir: Path) -> TabularModel:
    optional_module("onnxruntime", "ONNX")
    return OnnxModel(single_model_file(model_dir, ONNX_SUFFIXES, "ONNX"))


# Keyed by the model type lower-cased without separators, so "Scikit_Learn",
# "scikit-learn" and "sklearn" all match.
_LOADERS: dict[str, Callable[[Path], TabularModel]] = {
    "scikitlearn": _sklearn,
    "sklearn": _sklearn,
    "xgboost": _xgboost,
    "pytorch": _pytorch,
    "onnx": _onnx,
}


def builtin_handler(model_dir: Path, config: PackageConfig) -> TabularHandler:
    if config.model_type is None:
        raise NoHandlerError(
            "the package has neither customize_service.py nor a model_type in config.json"
        )
    key = "".join(char for char in config.model_type.lower() if char.isalnum())
    loader = _LOADERS.get(key)
    if loader is None:
        raise NoHandlerError(
            f"model_type {config.model_type!r} has no built-in handler (there are handlers "
            "for Scikit_Learn, XGBoost, PyTorch TorchScript and ONNX); add a "
            "customize_service.py to the package"
        )
    return TabularHandler(loader(model_dir), config.feature_names)
