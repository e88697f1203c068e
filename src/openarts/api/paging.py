"""Kubernetes-style paging (``continue`` tokens and list metadata) used by several lists.

A ``continue`` token is the offset of the next page, as text; clients treat it as opaque.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from openarts import errors
from openarts.errors import OpenArtsError
from openarts.schemas.common import ListMetadata

ContinueQuery = Annotated[str | None, Query(alias="continue", max_length=10)]


def page_start(continue_token: str | None, offset: int | None = None) -> int:
    if continue_token is None:
        return offset or 0
    if not (continue_token.isascii() and continue_token.isdigit()):
        raise OpenArtsError(
            errors.INVALID_ARGUMENT,
            "Invalid parameter: query parameter continue must be a value returned in "
            "metadata.continue.",
        )
    return int(continue_token)


def page_metadata(*, start: int, returned: int, total: int) -> ListMetadata:
    remaining = max(total - start - returned, 0)
    if not remaining:
        return ListMetadata()
    return ListMetadata(continue_=str(start + returned), remainingItemCount=remaining)
