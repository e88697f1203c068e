"""GET /v1/{project_id}/events: the event list of a resource."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from openarts.api.deps import CallerDep, SessionDep
from openarts.api.paging import ContinueQuery, page_metadata, page_start
from openarts.domain.events import EventResource, EventType
from openarts.schemas.common import ERROR_RESPONSES, MAX_EPOCH, MAX_OFFSET
from openarts.schemas.events import EventItem, EventList
from openarts.services import events

router = APIRouter(prefix="/v1/{project_id}", tags=["Events"], responses=ERROR_RESPONSES)

MAX_PAGE = 500
# Epoch values below this are seconds, above it milliseconds: 10^11 seconds is the year
# 5138, while 10^11 milliseconds is 1973, so no real time is ambiguous.
_SECONDS_LIMIT = 10**11


def _as_ms(value: int | None) -> int | None:
    if value is None:
        return None
    return value * 1000 if value < _SECONDS_LIMIT else value


def _iso_seconds(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get(
    "/events",
    response_model=EventList,
    response_model_exclude_none=True,
    summary="Obtain the event list",
)
async def list_events(
    caller: CallerDep,
    session: SessionDep,
    resource: Annotated[EventResource, Query()],
    name: Annotated[str, Query(min_length=1, max_length=128)],
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 0,
    offset: Annotated[int | None, Query(ge=0, le=MAX_OFFSET)] = None,
    continue_token: ContinueQuery = None,
    type: Annotated[EventType | None, Query()] = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_EPOCH)] = None,
    until: Annotated[int | None, Query(ge=0, le=MAX_EPOCH)] = None,
    ascend: Annotated[bool, Query()] = False,
) -> EventList:
    size = limit or MAX_PAGE
    start = page_start(continue_token, offset)
    found = await events.list_events(
        session,
        events.EventFilter(
            project_id=caller.project_id,
            resource_type=resource.value,
            resource_name=name,
            type=type,
            since_ms=_as_ms(since),
            until_ms=_as_ms(until),
            ascending=ascend,
        ),
        limit=size,
        offset=start,
    )
    rows, total = found.items, found.total
    return EventList(
        metadata=page_metadata(start=start, returned=len(rows), total=total),
        items=[
            EventItem(
                type=EventType(row.type),
                firstTimestamp=_iso_seconds(row.first_timestamp),
                lastTimestamp=_iso_seconds(row.last_timestamp),
                count=row.count,
                reason=row.reason,
                message=row.message,
            )
            for row in rows
        ],
        total=total,
    )
