"""Workloads: submitting, stopping, and the one function that changes their status."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from openarts import errors
from openarts.db.lookups import not_for_lookup
from openarts.db.tables import Pool, Workload
from openarts.domain.events import EventType
from openarts.domain.pools import PoolPhase
from openarts.domain.workloads import ALLOWED_TRANSITIONS, WorkloadStatus
from openarts.errors import OpenArtsError
from openarts.ids import new_uuid, now_ms
from openarts.services.events import NewEvent, insert_events_sync, record_event_sync
from openarts.services.hints import Hint, hint
from openarts.services.transitions import check_move

# What a workload that waits says before admission has looked at it.
NOT_YET_SCHEDULED = "waiting to be scheduled"


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """What one task of a workload runs and needs; stored as JSON on the workload."""

    command: list[str]
    workdir: str
    env: dict[str, str] = field(default_factory=dict)
    vcpus: float = 1.0
    memory_bytes: int = 0
    gpus: int = 0
    # What it sees in its sandbox (TaskView.to_json()); None: it runs unsandboxed.
    view: dict[str, Any] | None = None


def encode_tasks(tasks: list[TaskTemplate]) -> str:
    return json.dumps([asdict(task) for task in tasks])


def decode_tasks(text: str) -> list[TaskTemplate]:
    return [TaskTemplate(**item) for item in json.loads(text)]


async def submit_workload(
    session: AsyncSession,
    *,
    project_id: str,
    kind: str,
    resource_id: str,
    tasks: list[TaskTemplate],
    pool: str = "",
    priority: int = 0,
) -> Workload:
    """See ``submit_workload_sync``."""
    return await session.run_sync(
        submit_workload_sync,
        project_id=project_id,
        kind=kind,
        resource_id=resource_id,
        tasks=tasks,
        pool=pool,
        priority=priority,
    )


def submit_workload_sync(
    session: Session,
    *,
    project_id: str,
    kind: str,
    resource_id: str,
    tasks: list[TaskTemplate],
    pool: str = "",
    priority: int = 0,
) -> Workload:
    """Queue a workload (status Pending) in ``pool``, or the public pool when empty."""
    if not tasks:
        raise ValueError("a workload needs at least one task")
    if pool:
        _check_pool(session, pool, project_id)
    now = now_ms()
    workload = Workload(
        id=new_uuid(),
        project_id=project_id,
        kind=kind,
        resource_id=resource_id,
        pool=pool,
        priority=priority,
        status=WorkloadStatus.PENDING.value,
        reason=NOT_YET_SCHEDULED,
        desired="run",
        spec=encode_tasks(tasks),
        created_at=now,
        queued_at=now,
    )
    session.add(workload)
    record_event_sync(
        session,
        project_id=project_id,
        resource_type=kind,
        resource_name=resource_id,
        resource_id=workload.id,
        reason="Queued",
        message=f"{len(tasks)} task(s) queued in {pool or 'the public pool'}",
        fold=False,  # a new workload: never the repeat of an earlier one's event
    )
    session.flush()
    return workload


def _check_pool(session: Session, name: str, project_id: str) -> None:
    """Work may go only to a ready pool of its own project."""
    found = session.get(Pool, name)
    if found is None or found.project_id != project_id:
        raise OpenArtsError(errors.POOL_NOT_FOUND, f"Pool {name} not found.")
    if found.phase not in (PoolPhase.RUNNING, PoolPhase.ABNORMAL, PoolPhase.CREATING):
        raise OpenArtsError(
            errors.POOL_BAD_REQUEST,
            f"pool {found.display_name} is {found.phase}: it takes no new work; choose another",
        )


async def request_stop(session: AsyncSession, workload_id: str) -> None:
    """Record the wish; the reconciler does the stopping."""
    await session.run_sync(request_stop_sync, workload_id)


def request_stop_sync(session: Session, workload_id: str) -> None:
    session.execute(update(Workload).where(Workload.id == workload_id).values(desired="stop"))


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One workload to move from ``current`` to ``to``, and what the event says."""

    workload_id: str
    project_id: str
    kind: str
    resource_id: str
    current: WorkloadStatus
    to: WorkloadStatus
    reason: str
    event_type: EventType = EventType.NORMAL


async def switch_workload_statuses(
    session: AsyncSession, changes: list[StatusChange], *, only_if_desired: str | None = None
) -> set[str]:
    """See ``switch_workload_statuses_sync``."""
    return await session.run_sync(
        switch_workload_statuses_sync, changes, only_if_desired=only_if_desired
    )


def switch_workload_statuses_sync(
    session: Session, changes: list[StatusChange], *, only_if_desired: str | None = None
) -> set[str]:
    """Compare-and-set many statuses at once (one UPDATE per kind of move), with an
    event for each that moved. Returns the IDs that moved: one someone else moved first
    (or, with ``only_if_desired``, whose user's wish changed meanwhile) is left alone.
    The reconciler moves hundreds of workloads a second through here."""
    for change in changes:
        check_move("workload", change.current, change.to, ALLOWED_TRANSITIONS)
    now = now_ms()
    # Core statements below do not flush the session's pending objects themselves.
    session.flush()
    # One UPDATE per kind of move and reason: most moves of a pass share their reason
    # ("all tasks succeeded"), and a statement of this one shape is compiled only once.
    groups: dict[tuple[WorkloadStatus, WorkloadStatus, str], list[str]] = {}
    for change in changes:
        groups.setdefault((change.current, change.to, change.reason), []).append(change.workload_id)
    moved: set[str] = set()
    for (current, to, reason), workload_ids in groups.items():
        statement = _status_update(
            started=to is WorkloadStatus.RUNNING,
            finished=to.finished,
            check_desired=only_if_desired is not None,
        )
        params = {
            "b_ids": workload_ids,
            "b_current": current.value,
            "b_to": to.value,
            "b_reason": reason,
            "b_now": now,
            "b_desired": only_if_desired,
        }
        moved.update(session.scalars(statement, params))
    if moved:
        hint(session, Hint.WORKLOAD_MOVED)
    # A status change never repeats the event before it: nothing to fold.
    insert_events_sync(
        session,
        [
            NewEvent(
                project_id=change.project_id,
                resource_type=change.kind,
                resource_name=change.resource_id,
                resource_id=change.workload_id,
                reason=f"Workload{change.to.value}",
                message=change.reason,
                type=change.event_type,
            )
            for change in changes
            if change.workload_id in moved
        ],
    )
    return moved


async def switch_workload_status(
    session: AsyncSession,
    workload: Workload,
    to: WorkloadStatus,
    reason: str,
    *,
    event_type: EventType = EventType.NORMAL,
    only_if_desired: str | None = None,
) -> bool:
    """Compare-and-set one workload's status (see switch_workload_statuses); the loaded
    object follows. False if someone else moved it first."""
    current = WorkloadStatus(workload.status)
    change = StatusChange(
        workload.id,
        workload.project_id,
        workload.kind,
        workload.resource_id,
        current,
        to,
        reason,
        event_type,
    )
    if not await switch_workload_statuses(session, [change], only_if_desired=only_if_desired):
        return False
    # The row changed in SQL; bring the loaded object along without another SELECT (and
    # without marking it dirty, which would write it again).
    set_committed_value(workload, "status", to.value)
    set_committed_value(workload, "reason", reason)
    set_committed_value(workload, "noticed", False)
    return True


@functools.cache
def _status_update(*, started: bool, finished: bool, check_desired: bool) -> Update:
    """The compare-and-set UPDATE of one kind of move (a Core statement, built once)."""
    table = cast(Table, Workload.__table__)
    # Every move is news to the workload's owner until its reconciler has acted on it.
    values: dict[str, object] = {
        "status": bindparam("b_to"),
        "reason": bindparam("b_reason"),
        "noticed": False,
    }
    if started:
        values["started_at"] = bindparam("b_now")
    if finished:
        values["finished_at"] = bindparam("b_now")
    conditions = [
        table.c.id.in_(bindparam("b_ids", expanding=True)),
        table.c.status == bindparam("b_current"),
    ]
    if check_desired:
        conditions.append(table.c.desired == bindparam("b_desired"))
    return table.update().where(*conditions).values(**values).returning(table.c.id)


async def waiting_reasons(
    session: AsyncSession, workload_ids: Sequence[str | None]
) -> dict[str, str]:
    """Why each of these workloads that waits to start waits, in one query (those that
    do not wait are not in the answer)."""
    wanted = [w for w in workload_ids if w]
    if not wanted:
        return {}
    rows = await session.execute(
        select(Workload.id, Workload.reason).where(
            Workload.id.in_(wanted),
            not_for_lookup(Workload.status) == WorkloadStatus.PENDING.value,
        )
    )
    return {workload_id: reason or NOT_YET_SCHEDULED for workload_id, reason in rows.all()}


async def waiting_reason(session: AsyncSession, workload_ids: Sequence[str | None]) -> str:
    """Why the first of these workloads that waits to start waits ("" when none waits)."""
    found = await waiting_reasons(session, workload_ids)
    return next((found[w] for w in workload_ids if w and w in found), "")


async def live_counts(session: AsyncSession) -> dict[str, int]:
    """Per workload kind, how many have tasks that may be alive (Running or Stopping)."""
    live = (WorkloadStatus.RUNNING.value, WorkloadStatus.STOPPING.value)
    rows = await session.execute(
        select(Workload.kind, func.count()).where(Workload.status.in_(live)).group_by(Workload.kind)
    )
    return {kind: int(count) for kind, count in rows}
