"""``XgSklServingBaseService``: the scikit-learn and XGBoost base class.

The ML engines' contract: ``_preprocess`` receives the request's JSON text (the samples
``json.loads`` it), the default hooks turn ``{"data": {"req_data": [{...}, ...]}}`` into
rows, predict and return ``[{"predictresult": value}, ...]``, and the runtime wraps that
as ``{"data": {"resp_data": [...]}}`` with the request's ``meta`` echoed.

``model_path`` is the package's single model file (a scikit-learn/joblib pickle or an
XGBoost model; see ``openarts.inference.model_files``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openarts.inference.ml_request import column_order, feature_matrix, read_tabular_request
from openarts.inference.model_loaders import TabularModel, load_ml_model
from openarts.inference.request_text import RequestText

from .model_service import SingleNodeService


class XgSklServingBaseService(SingleNodeService):
    def __init__(self, model_path: str) -> None:
        super().__init__(None, model_path)
        self._tabular_model: TabularModel | None = None
        # Loading now makes a replica ready only once its model is in memory, but only a
        # subclass that keeps the inherited _inference uses this loader: one with its own
        # may keep a model this runtime cannot read.
        if type(self)._inference is XgSklServingBaseService._inference:
            self._tabular_model = self._load()

    def _preprocess(self, data: Any) -> Any:
        if isinstance(data, RequestText):
            payload = data.parsed
        elif isinstance(data, str | bytes | bytearray):
            payload = json.loads(data)
        else:
            payload = data
        request = read_tabular_request(payload)
        model = getattr(self, "_tabular_model", None)
        columns = column_order(request.rows, model.feature_names if model else None)
        return feature_matrix(request.rows, columns)

    def _inference(self, data: Any) -> Any:
        model = getattr(self, "_tabular_model", None)
        if model is None:
            # A subclass __init__ that skipped ours: load on first use instead.
            model = self._tabular_model = self._load()
        return model.predict(data) if data else []

    def _postprocess(self, data: Any) -> Any:
        return [{"predictresult": value} for value in data]

    def _load(self) -> TabularModel:
        path = Path(str(self.model_path))
        if not path.is_file():
            raise FileNotFoundError(
                f"XgSklServingBaseService: model_path {path} is not a model file; the package "
                "needs exactly one *.pkl, *.joblib, *.pickle, *.m or XGBoost model file"
            )
        return load_ml_model(path)
