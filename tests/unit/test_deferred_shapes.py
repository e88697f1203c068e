"""Wire shapes are built at their first use, not at import (a faster start): every one
must still build, or its route would fail at its first call instead of at start."""

from __future__ import annotations

import pytest

import openarts.api.app  # noqa: F401  (imports every router, hence every shape)
from openarts.schemas.common import Shape


def _every_shape() -> list[type[Shape]]:
    found: list[type[Shape]] = []
    waiting: list[type[Shape]] = [Shape]
    while waiting:
        shape = waiting.pop()
        waiting.extend(shape.__subclasses__())
        found.append(shape)
    return found


def test_every_shape_builds_when_first_used() -> None:
    shapes = _every_shape()
    assert len(shapes) > 300
    for shape in shapes:
        if shape.__pydantic_complete__:
            continue
        try:
            shape.model_rebuild(raise_errors=True)
        except Exception as error:  # pragma: no cover - the failure is the message
            pytest.fail(f"{shape.__module__}.{shape.__qualname__} does not build: {error}")
        assert shape.__pydantic_complete__, shape
