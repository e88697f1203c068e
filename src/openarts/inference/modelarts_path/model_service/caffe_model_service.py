"""``CaffeBaseService``: the Caffe base class, which this runtime cannot run."""

from __future__ import annotations

from .model_service import SingleNodeService, unavailable


class CaffeBaseService(SingleNodeService):
    def __init__(self, model_name: str, model_path: str) -> None:
        super().__init__(model_name, model_path)
        raise unavailable("CaffeBaseService", "Caffe")
