"""Loading model files of the libraries the built-in handlers serve.

Each loader gives a ``TabularModel``: rows in (lists of feature values in column order),
one plain-Python result per row out. The libraries are optional in a runtime, so they
are imported only when a model needs them, and a missing one stops the start with a
message naming it.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any, Protocol

from openarts.inference.model_files import PICKLE_SUFFIXES, XGBOOST_SUFFIXES


class MissingLibraryError(RuntimeError):
    pass


class TabularModel(Protocol):
    # Column names the model was trained with, when it recorded them.
    feature_names: tuple[str, ...] | None

    def predict(self, matrix: list[list[Any]]) -> list[Any]: ...


def optional_module(name: str, engine: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingLibraryError(
            f"{engine} models need the Python package {name!r}, which is not installed "
            f"in this runtime ({exc})"
        ) from None


def has_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def as_array(matrix: list[list[Any]], dtype: str = "float64") -> Any:
    """Numbers as ``dtype``; rows with non-numeric values stay objects for the model.
    NumPy is the runtime's (every library these handlers serve requires it)."""
    np = optional_module("numpy", "Tabular")
    try:
        return np.asarray(matrix, dtype=dtype)
    except (TypeError, ValueError):
        return np.asarray(matrix, dtype=object)


def to_list(result: Any) -> list[Any]:
    converted = result.tolist() if hasattr(result, "tolist") else result
    if not isinstance(converted, list):
        raise TypeError(f"the model returned a {type(result).__name__}, not one result per row")
    return converted


class PickledModel:
    """A pickled scikit-learn estimator (or anything with ``predict``)."""

    def __init__(self, estimator: Any) -> None:
        if not callable(getattr(estimator, "predict", None)):
            raise TypeError(f"the pickled {type(estimator).__name__} has no predict method")
        self._estimator = estimator
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names = tuple(str(name) for name in names) if names is not None else None
        # Estimators fitted on a DataFrame want one back (named columns, per-column types);
        # the rest take a plain array, which is much cheaper to build.
        self._frame = (
            optional_module("pandas", "scikit-learn").DataFrame if names is not None else None
        )

    def predict(self, matrix: list[list[Any]]) -> list[Any]:
        if self._frame is not None:
            features = self._frame(matrix, columns=list(self.feature_names or ()))
        else:
            features = as_array(matrix)
        return to_list(self._estimator.predict(features))


class XGBoostModel:
    """A native XGBoost model file, run through ``Booster.predict``."""

    def __init__(self, path: Path) -> None:
        self._xgb = optional_module("xgboost", "XGBoost")
        self._booster = self._xgb.Booster(model_file=str(path))
        names = self._booster.feature_names
        self.feature_names = tuple(names) if names else None

    def predict(self, matrix: list[list[Any]]) -> list[Any]:
        names = list(self.feature_names) if self.feature_names else None
        return to_list(
            self._booster.predict(self._xgb.DMatrix(as_array(matrix), feature_names=names))
        )


class TorchScriptModel:
    """A TorchScript module; rows become one float32 batch on the CPU."""

    feature_names: tuple[str, ...] | None = None

    def __init__(self, path: Path) -> None:
        self._torch = optional_module("torch", "PyTorch")
        self._module = self._torch.jit.load(str(path), map_location="cpu")
        self._module.eval()

    def predict(self, matrix: list[list[Any]]) -> list[Any]:
        batch = self._torch.as_tensor(as_array(matrix, "float32"))
        with self._torch.inference_mode():
            output = self._module(batch)
        if isinstance(output, tuple | list):
            # Several outputs: the first is the prediction by TorchScript convention.
            output = output[0]
        return to_list(output)


# ONNX element types and the numpy types that feed them.
_ONNX_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(string)": "str",
}


class OnnxModel:
    """An ONNX graph in onnxruntime on the CPU; rows feed its first input."""

    feature_names: tuple[str, ...] | None = None

    def __init__(self, path: Path) -> None:
        runtime = optional_module("onnxruntime", "ONNX")
        self._session = runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        first = self._session.get_inputs()[0]
        self._input_name: str = first.name
        self._dtype = _ONNX_DTYPES.get(first.type, "float32")

    def predict(self, matrix: list[list[Any]]) -> list[Any]:
        outputs = self._session.run(None, {self._input_name: as_array(matrix, self._dtype)})
        return to_list(outputs[0])


def load_pickle(path: Path) -> Any:
    """joblib when installed (it reads plain pickles too), else the standard pickle."""
    if has_module("joblib"):
        return importlib.import_module("joblib").load(path)
    with path.open("rb") as handle:
        return pickle.load(handle)


def load_ml_model(path: Path) -> TabularModel:
    """A scikit-learn pickle or an XGBoost model, told apart by the file's suffix.

    A suffix that names neither (the preset runtime's ``.m``) is tried as a pickle first,
    then as an XGBoost model.
    """
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        return PickledModel(load_pickle(path))
    if suffix in (*XGBOOST_SUFFIXES, ".json"):
        return XGBoostModel(path)
    try:
        return PickledModel(load_pickle(path))
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError) as pickle_error:
        if not has_module("xgboost"):
            raise ValueError(f"{path.name} is not a pickle: {pickle_error}") from None
        return XGBoostModel(path)
