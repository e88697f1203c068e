"""Workloads: submitting, stopping, and the one function that changes their status."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from openarts.db.tables import Workload
from openarts.domain.events import EventType
from openarts.domain.workloads import ALLOWED_TRANSITIONS, WorkloadStatus
from openarts.ids import new_uuid, now_ms
from openarts.services.events import record_event


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """What one task of a workload runs and needs; stored as JSON on the workload."""

    command: list[str]
    workdir: str
    env: dict[str, str] = field(default_factory=dict)
    vcpus: float = 1.0
    memory_bytes: int = 0
    gpus: int = 0


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
    if not tasks:
        raise ValueError("a workload needs at least one task")
    now = now_ms()
    workload = Workload(
        id=new_uuid(),
        project_id=project_id,
        kind=kind,
        resource_id=resource_id,
        pool=pool,
        priority=priority,
        status=WorkloadStatus.PENDING.value,
        reason="waiting to be scheduled",
        desired="run",
        spec=encode_tasks(tasks),
        created_at=now,
        queued_at=now,
    )
    session.add(workload)
    await session.flush()
    await record_event(
        session,
        project_id=project_id,
        resource_type=kind,
        resource_name=resource_id,
        resource_id=workload.id,
        reason="Queued",
        message=f"{len(tasks)} task(s) queued in {pool or 'the public pool'}",
    )
    return workload


async def request_stop(session: AsyncSession, workload_id: str) -> None:
    """Record the wish; the reconciler does the stopping."""
    await session.execute(update(Workload).where(Workload.id == workload_id).values(desired="stop"))


async def switch_workload_status(
    session: AsyncSession,
    workload: Workload,
    to: WorkloadStatus,
    reason: str,
    *,
    event_type: EventType = EventType.NORMAL,
    only_if_desired: str | None = None,
) -> bool:
    """Compare-and-set the status; record an event. False if someone else moved it first
    (or, with ``only_if_desired``, if the user's wish changed meanwhile)."""
    current = WorkloadStatus(workload.status)
    if to not in ALLOWED_TRANSITIONS[current]:
        raise ValueError(f"a workload cannot go from {current} to {to}")
    now = now_ms()
    values: dict[str, object] = {"status": to.value, "reason": reason}
    if to is WorkloadStatus.RUNNING:
        values["started_at"] = now
    if to.finished:
        values["finished_at"] = now
    conditions = [Workload.id == workload.id, Workload.status == current.value]
    if only_if_desired is not None:
        conditions.append(Workload.desired == only_if_desired)
    result = await session.execute(update(Workload).where(*conditions).values(**values))
    if getattr(result, "rowcount", 0) != 1:
        return False
    # The row changed in SQL; bring the loaded object along without another SELECT (and
    # without marking it dirty, which would write it again).
    for name, value in values.items():
        set_committed_value(workload, name, value)
    await record_event(
        session,
        project_id=workload.project_id,
        resource_type=workload.kind,
        resource_name=workload.resource_id,
        resource_id=workload.id,
        reason=f"Workload{to.value}",
        message=reason,
        type=event_type,
    )
    return True
