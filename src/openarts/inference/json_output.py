"""Prediction results to JSON bytes, numpy and tensor values included.

Model libraries return numpy arrays and scalars (and torch tensors), which ``json``
refuses; anything with ``tolist()`` becomes plain lists and numbers. One encoder is built
once because ``json.dumps`` with non-default options builds a new one per call.
"""

from __future__ import annotations

from json import JSONEncoder
from typing import Any


def plain_value(value: Any) -> Any:
    """A JSON-ready stand-in for ``value``, or TypeError when there is none."""
    to_list = getattr(value, "tolist", None)
    if callable(to_list):
        return to_list()
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"a {type(value).__name__} is not JSON serializable")


_ENCODER = JSONEncoder(ensure_ascii=False, default=plain_value)


def encode_json(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()
