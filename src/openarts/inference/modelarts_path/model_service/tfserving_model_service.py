"""``TfServingBaseService``: the TensorFlow base class.

The preset runtime sent each request to a TF Serving process; here the SavedModel in the
model directory is loaded in-process and its ``serving_default`` signature called with
the preprocessed dict as keyword tensors. Without TensorFlow installed the class cannot be
constructed, and says so.
"""

from __future__ import annotations

import importlib
from typing import Any

from .model_service import SingleNodeService, unavailable


class TfServingBaseService(SingleNodeService):
    def __init__(self, model_name: str, model_path: str) -> None:
        super().__init__(model_name, model_path)
        try:
            self._tf: Any = importlib.import_module("tensorflow")
        except ImportError:
            raise unavailable("TfServingBaseService", "TensorFlow") from None
        self.model: Any = self._tf.saved_model.load(model_path)
        self.predict_fn: Any = self.model.signatures["serving_default"]

    def _inference(self, data: Any) -> Any:
        inputs = {key: self._tf.convert_to_tensor(value) for key, value in data.items()}
        outputs = self.predict_fn(**inputs)
        return {name: tensor.numpy().tolist() for name, tensor in outputs.items()}
