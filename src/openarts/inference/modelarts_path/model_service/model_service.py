"""The root of every ModelArts base class and its call order.

``inference`` runs ``_preprocess``, ``_inference`` and ``_postprocess`` in turn; each hook
passes its input through unchanged unless a subclass overrides it. MindSpore services
derive ``SingleNodeService`` directly, with the deep-learning constructor
``(model_name, model_path)``.
"""

from __future__ import annotations

from typing import Any


class EngineUnavailableError(RuntimeError):
    """A base class whose engine this runtime does not provide was constructed."""


class ModelService:
    def __init__(self, model_name: str | None = None, model_path: str | None = None) -> None:
        self.model_name = model_name
        self.model_path = model_path
        self.ctx: Any = None

    def inference(self, data: Any) -> Any:
        raise NotImplementedError

    def ping(self) -> None:
        return None

    def signature(self) -> None:
        return None


class SingleNodeService(ModelService):
    def inference(self, data: Any) -> Any:
        return self._postprocess(self._inference(self._preprocess(data)))

    def _preprocess(self, data: Any) -> Any:
        return data

    def _inference(self, data: Any) -> Any:
        return data

    def _postprocess(self, data: Any) -> Any:
        return data


def unavailable(base: str, engine: str) -> EngineUnavailableError:
    return EngineUnavailableError(
        f"{base}: {engine} is not available in this runtime; serve the model with a "
        "custom image that has it, or convert it to an engine this runtime runs "
        "(PyTorch, scikit-learn, XGBoost, ONNX, or TensorFlow when installed)"
    )
