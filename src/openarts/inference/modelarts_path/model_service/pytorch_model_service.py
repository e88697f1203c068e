"""``PTServingBaseService``: the PyTorch base class.

Nothing is loaded for the subclass: ModelArts' PyTorch samples load their model in
``__init__`` and set ``self.model``, which the default ``_inference`` calls on each value
of the preprocessed dict. ``model_path`` is the package's single ``*.pt``/``*.pth`` file
when there is one (see ``openarts.inference.model_files``).
"""

from __future__ import annotations

from typing import Any

from .model_service import SingleNodeService


class PTServingBaseService(SingleNodeService):
    def __init__(self, model_name: str, model_path: str) -> None:
        super().__init__(model_name, model_path)
        self.model: Any = None

    def _inference(self, data: Any) -> Any:
        return {key: self.model(value) for key, value in data.items()}
