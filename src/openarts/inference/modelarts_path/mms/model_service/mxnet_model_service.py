"""``mms.model_service.mxnet_model_service.MXNetBaseService``, the documented import path.

The class is the one in ``model_service.mxnet_model_service``, so there is a single
MXNet base whichever path user code imports. It is looked up at run time because the
two top-level packages only become siblings on the replica's ``sys.path``.
"""

from __future__ import annotations

import importlib

MXNetBaseService = importlib.import_module("model_service.mxnet_model_service").MXNetBaseService

__all__ = ["MXNetBaseService"]
