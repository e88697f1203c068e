"""``SparkServingBaseService``: the Spark MLlib base class, which this runtime cannot run."""

from __future__ import annotations

from .model_service import SingleNodeService, unavailable


class SparkServingBaseService(SingleNodeService):
    def __init__(self, model_path: str) -> None:
        super().__init__(None, model_path)
        raise unavailable("SparkServingBaseService", "Spark MLlib (pyspark)")
