"""``MXNetBaseService``, also reachable as ModelArts documents it, under ``mms``."""

from __future__ import annotations

from .model_service import SingleNodeService, unavailable


class MXNetBaseService(SingleNodeService):
    def __init__(self, model_name: str, model_path: str) -> None:
        super().__init__(model_name, model_path)
        raise unavailable("MXNetBaseService", "MXNet")
