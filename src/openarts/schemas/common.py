"""Wire shapes shared by every group."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from openarts import errors
from openarts.errors import OpenArtsError

# Bounds that keep query numbers inside the databases' 64-bit integers.
MAX_OFFSET = 2**31 - 1
MAX_EPOCH = 2**62


class Shape(BaseModel):
    """Every wire shape. Pydantic builds a model's validator and serializer at its first
    use rather than at import: a start builds none of the ~400 shapes (about 0.15 s and
    some MiB), and the first call of a kind pays a few milliseconds for its own."""

    model_config = ConfigDict(defer_build=True)


class WireModel(Shape):
    """A request body. Unknown fields are ignored, as the cloud does, so SDK versions that
    send more fields keep working; known fields are checked strictly."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ErrorBody(Shape):
    error_code: str = Field(examples=["ModelArts.0101"])
    error_msg: str = Field(examples=["Invalid parameter: query parameter limit: ..."])


class ResultBody(Shape):
    result: str = "true"


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Bad request"},
    401: {"model": ErrorBody, "description": "Unauthorized"},
    403: {"model": ErrorBody, "description": "Forbidden"},
    404: {"model": ErrorBody, "description": "Not found"},
}


class ListMetadata(Shape):
    model_config = ConfigDict(populate_by_name=True)

    continue_: str | None = Field(default=None, alias="continue", serialization_alias="continue")
    remainingItemCount: int | None = None


def text_map(values: Mapping[str, object] | None) -> dict[str, str]:
    """Labels or annotations as strings (clients send some values as numbers)."""
    return {k: str(v) for k, v in (values or {}).items() if v is not None}


def required_name(labels: Mapping[str, str], key: str = "os.modelarts/name") -> str:
    name = labels.get(key)
    if not name:
        raise OpenArtsError(errors.POOL_BAD_REQUEST, f"metadata.labels {key} is required")
    return name
