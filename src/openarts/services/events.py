"""The one events table every resource writes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts.db.tables import Event
from openarts.domain.events import EventType
from openarts.ids import now_ms
from openarts.services.paging import Page, page_of


@dataclass(frozen=True, slots=True)
class EventFilter:
    project_id: str
    resource_type: str
    resource_name: str
    type: EventType | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    ascending: bool = False
    pattern: str | None = None  # a part of the message, any case


async def record_event(
    session: AsyncSession,
    *,
    project_id: str,
    resource_type: str,
    resource_name: str,
    reason: str,
    message: str,
    type: EventType = EventType.NORMAL,
    resource_id: str | None = None,
    fold: bool = True,
) -> Event:
    """Add an event, or count a repeat of the resource's latest event (see
    ``record_event_sync``)."""
    return await session.run_sync(
        record_event_sync,
        project_id=project_id,
        resource_type=resource_type,
        resource_name=resource_name,
        reason=reason,
        message=message,
        type=type,
        resource_id=resource_id,
        fold=fold,
    )


def record_event_sync(
    session: Session,
    *,
    project_id: str,
    resource_type: str,
    resource_name: str,
    reason: str,
    message: str,
    type: EventType = EventType.NORMAL,
    resource_id: str | None = None,
    fold: bool = True,
) -> Event:
    """Add an event, or count a repeat of the resource's latest event.

    Like Kubernetes events, an event identical to the resource's most recent one (same
    type, reason and message) is folded into it: count grows, lastTimestamp moves.
    ``fold=False`` skips the look-up, for events that cannot repeat the one before
    (a status change follows a different status), which saves a query on hot paths.
    """
    now = now_ms()
    latest = (
        None
        if not fold
        else session.scalars(
            select(Event)
            .where(
                Event.project_id == project_id,
                Event.resource_type == resource_type,
                Event.resource_name == resource_name,
            )
            .order_by(Event.last_timestamp.desc(), Event.id.desc())
            .limit(1)
        ).first()
    )
    if latest is not None and (latest.type, latest.reason, latest.message) == (
        type.value,
        reason,
        message,
    ):
        latest.count += 1
        latest.last_timestamp = now
        session.flush()
        return latest
    event = Event(
        project_id=project_id,
        resource_type=resource_type,
        resource_name=resource_name,
        resource_id=resource_id,
        type=type.value,
        reason=reason,
        message=message,
        count=1,
        first_timestamp=now,
        last_timestamp=now,
    )
    # No flush here: new events of one transaction go to the database together.
    session.add(event)
    return event


async def list_events(
    session: AsyncSession, query: EventFilter, *, limit: int, offset: int
) -> Page[Event]:
    conditions = [
        Event.project_id == query.project_id,
        Event.resource_type == query.resource_type,
        Event.resource_name == query.resource_name,
    ]
    if query.type is not None:
        conditions.append(Event.type == query.type.value)
    if query.since_ms is not None:
        conditions.append(Event.last_timestamp >= query.since_ms)
    if query.until_ms is not None:
        conditions.append(Event.first_timestamp <= query.until_ms)
    if query.pattern:
        conditions.append(func.lower(Event.message).contains(query.pattern.lower()))
    ordering = (
        (Event.last_timestamp.asc(), Event.id.asc())
        if query.ascending
        else (Event.last_timestamp.desc(), Event.id.desc())
    )
    return await page_of(
        session, select(Event).where(*conditions), order_by=ordering, offset=offset, limit=limit
    )


def insert_events_sync(session: Session, events: list[NewEvent]) -> None:
    """Add many events that cannot fold into earlier ones (status changes), in one
    statement: the hot paths move hundreds of workloads a second."""
    if not events:
        return
    # Events added earlier in this session first, so ids keep the order of events.
    session.flush()
    now = now_ms()
    session.execute(
        cast(Table, Event.__table__).insert(),
        [
            {
                "project_id": e.project_id,
                "resource_type": e.resource_type,
                "resource_name": e.resource_name,
                "resource_id": e.resource_id,
                "type": e.type.value,
                "reason": e.reason,
                "message": e.message,
                "count": 1,
                "first_timestamp": now,
                "last_timestamp": now,
            }
            for e in events
        ],
    )


@dataclass(frozen=True, slots=True)
class NewEvent:
    project_id: str
    resource_type: str
    resource_name: str
    resource_id: str | None
    reason: str
    message: str
    type: EventType = EventType.NORMAL


async def latest_message(
    session: AsyncSession,
    *,
    project_id: str,
    resource_type: str,
    resource_name: str,
    resource_id: str,
    reasons: tuple[str, ...],
    since_ms: int,
) -> str | None:
    """The message of the resource's latest event of one of ``reasons`` since
    ``since_ms`` (a step of what it is doing now); None when there is none."""
    return await session.scalar(
        select(Event.message)
        .where(
            Event.project_id == project_id,
            Event.resource_type == resource_type,
            Event.resource_name == resource_name,
            Event.last_timestamp >= since_ms,
            Event.resource_id == resource_id,
            Event.reason.in_(reasons),
        )
        .order_by(Event.last_timestamp.desc(), Event.id.desc())
        .limit(1)
    )
