"""The one way a status moves: the move must be one its machine allows, the row moves only
from the status it was read in (compare-and-set: two servers, or a request and a loop,
never both move it), and the move leaves an event.

Every resource's status switch (training jobs, notebooks, models, services, pools) is a
thin wrapper that says which machine, what else the row gets and what the event says.
Workloads move in batches of hundreds a pass through their own statement
(services/workloads.py), under the same ``check_move``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from openarts.domain.events import EventType
from openarts.services.events import record_event_sync

Status = TypeVar("Status", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Recorded:
    """The event a move leaves."""

    project_id: str
    resource_type: str
    resource_name: str
    resource_id: str
    reason: str
    message: str
    type: EventType = EventType.NORMAL
    # A status change never repeats the event before it, so it is not looked up to fold
    # into (a query saved); a machine whose moves may repeat says so.
    fold: bool = False


def check_move(
    kind: str, current: Status, to: Status, moves: Mapping[Status, frozenset[Status]]
) -> None:
    """A move the machine does not allow is a bug in the caller, not a user's error."""
    if to not in moves[current]:
        raise ValueError(f"a {kind} cannot go from {current} to {to}")


def transition(
    session: Session,
    row: Any,
    to: Status,
    moves: Mapping[Status, frozenset[Status]],
    *,
    kind: str,
    event: Recorded,
    values: Mapping[str, Any] | None = None,
    field: str = "status",
    stay: bool = False,
) -> bool:
    """Move ``row``'s ``field`` to ``to`` with ``values`` beside it, and record ``event``;
    False (nothing written) if the row moved meanwhile. ``stay`` lets a row that is at
    ``to`` already be written again (its other values change)."""
    current = type(to)(getattr(row, field))
    if not (stay and to is current):
        check_move(kind, current, to, moves)
    if not compare_and_set(session, row, current.value, {field: to.value, **(values or {})}, field):
        return False
    record_event_sync(
        session,
        project_id=event.project_id,
        resource_type=event.resource_type,
        resource_name=event.resource_name,
        resource_id=event.resource_id,
        reason=event.reason,
        message=event.message,
        type=event.type,
        fold=event.fold,
    )
    return True


def compare_and_set(
    session: Session, row: Any, current: str, values: Mapping[str, Any], field: str = "status"
) -> bool:
    """Write ``values`` to ``row`` if its ``field`` is still ``current``; False if it
    moved meanwhile. The loaded object follows without being marked dirty."""
    table = type(row)
    (key_column,) = inspect(table).primary_key
    key = getattr(table, key_column.key)
    # Core statements do not flush the session's pending changes themselves.
    session.flush()
    moved = session.scalar(
        update(table)
        .where(key == getattr(row, key_column.key), getattr(table, field) == current)
        .values(**values)
        .returning(key)
        .execution_options(synchronize_session=False)
    )
    if moved is None:
        return False
    for key, value in values.items():
        set_committed_value(row, key, value)
    return True
