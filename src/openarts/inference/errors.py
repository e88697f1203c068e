"""The runtime's error responses and the codes they carry.

Every error body carries the code and the reason twice, under the platform's key names
(``error_code``/``error_msg``) and under the ModelArts runtime's (``erno``/``msg``), so a
client written for either finds what it looks for.

Codes, in the ``MR.01xx`` family the ModelArts runtime uses:

- ``MR.0101`` (400): the request body could not be read (not JSON, broken multipart, a
  JSON-only model sent something else, an empty body).
- ``MR.0102`` (404): no route at that path.
- ``MR.0103`` (405): the path exists but not for that method.
- ``MR.0105``: the prediction failed; 400 when user code raised KeyError, TypeError or
  ValueError (the usual sign of a request the model cannot use), 500 for anything else or
  a result that is not JSON, 504 when it ran past the runtime's time limit.
"""

from __future__ import annotations

import json
import traceback
from typing import Final

BAD_BODY: Final = "MR.0101"
NO_ROUTE: Final = "MR.0102"
WRONG_METHOD: Final = "MR.0103"
PREDICTION_FAILED: Final = "MR.0105"

# Errors user code raises when it could not use what the request carried; anything else
# is a fault of the model or the runtime.
CLIENT_FAULTS: Final = (KeyError, TypeError, ValueError)

Response = tuple[int, bytes]


def error_body(code: str, reason: str) -> bytes:
    return json.dumps(
        {"error_code": code, "error_msg": reason, "erno": code, "msg": reason},
        ensure_ascii=False,
    ).encode()


def error_response(status: int, code: str, reason: str) -> Response:
    return status, error_body(code, reason)


def prediction_failure(exc: BaseException) -> Response:
    """The response for an exception user code raised, naming where it was raised."""
    status = 400 if isinstance(exc, CLIENT_FAULTS) else 500
    return error_response(status, PREDICTION_FAILED, f"prediction failed: {describe(exc)}")


def describe(exc: BaseException) -> str:
    """``Type: message (in function, file line N)`` for the innermost frame that raised."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        where = last.filename.rsplit("/", 1)[-1]
        text += f" (in {last.name}, {where} line {last.lineno})"
    return text
