"""Wire shapes of the event list."""

from __future__ import annotations

from openarts.domain.events import EventType
from openarts.schemas.common import ListMetadata, Shape


class EventItem(Shape):
    apiVersion: str = "v1"
    kind: str = "Event"
    type: EventType
    firstTimestamp: str
    lastTimestamp: str
    count: int
    reason: str
    message: str


class EventList(Shape):
    apiVersion: str = "v1"
    kind: str = "EventList"
    metadata: ListMetadata
    items: list[EventItem]
    total: int
