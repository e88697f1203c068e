"""Wire shapes of the event list."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from openarts.domain.events import EventType


class EventItem(BaseModel):
    apiVersion: str = "v1"
    kind: str = "Event"
    type: EventType
    firstTimestamp: str
    lastTimestamp: str
    count: int
    reason: str
    message: str


class ListMetadata(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    continue_: str | None = Field(default=None, alias="continue", serialization_alias="continue")
    remainingItemCount: int | None = None


class EventList(BaseModel):
    apiVersion: str = "v1"
    kind: str = "EventList"
    metadata: ListMetadata
    items: list[EventItem]
    total: int
