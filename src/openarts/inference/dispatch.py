"""One prediction from request bytes to response bytes, with every failure answered.

``Dispatcher.handle`` is synchronous and never raises, so the same call runs inline on
the event loop or on the prediction thread.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from openarts.inference.errors import (
    BAD_BODY,
    PREDICTION_FAILED,
    Response,
    describe,
    error_response,
    prediction_failure,
)
from openarts.inference.json_output import encode_json
from openarts.inference.request_body import BodyError, read_json_text, read_payload

logger = logging.getLogger(__name__)


class Predictor(Protocol):
    # True: the model takes JSON only and gets a RequestText; False: any payload.
    @property
    def takes_json_text(self) -> bool: ...

    def predict(self, payload: Any, /) -> Any: ...


class Dispatcher:
    def __init__(self, predictor: Predictor) -> None:
        self._predict = predictor.predict
        self._takes_json_text = predictor.takes_json_text

    def handle(self, content_type: bytes | None, body: bytes, query: bytes) -> Response:
        try:
            if self._takes_json_text:
                payload: Any = read_json_text(content_type, body)
            else:
                payload = read_payload(content_type, body, query)
        except BodyError as exc:
            return error_response(400, BAD_BODY, str(exc))
        try:
            result = self._predict(payload)
        # BaseException too: user code calling sys.exit() must fail one request, not end
        # the replica.
        except BaseException as exc:
            logger.error("prediction failed: %s", describe(exc), exc_info=exc)
            return prediction_failure(exc)
        try:
            return 200, encode_json(result)
        except (TypeError, ValueError) as exc:
            logger.error("prediction result is not JSON: %s", exc)
            return error_response(
                500, PREDICTION_FAILED, f"the prediction's result cannot be sent as JSON: {exc}"
            )
