"""The public pool as a user sees it: what it has, what it promises, what its running
work holds, and its line, each waiting entry with its place and its reason.

The public pool has no row of its own (it is whatever no dedicated pool holds), so this
is read from the hosts, the pools' slices and the public workloads. A project sees its
own work by name and other projects' only as counts and sums.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts.db.tables import Workload, WorkloadTask
from openarts.domain.capacity import HostNode, schedulable_nodes
from openarts.domain.cpu_share import admission_capacity
from openarts.domain.scheduling import Resources
from openarts.domain.workloads import WorkloadStatus
from openarts.services.pools import inventory
from openarts.services.workload_names import describe

_LIVE_TASKS = ("starting", "running")
# The line is shown this far; the rest is counted.
SHOWN = 100


@dataclass(frozen=True, slots=True)
class PublicEntry:
    workload_id: str
    kind: str
    name: str
    status: str
    # Its place in the line (1 is next) while it waits; None once it runs.
    position: int | None
    reason: str
    held: Resources
    since_ms: int


@dataclass(frozen=True, slots=True)
class PublicPool:
    # What the public remainder of the hosts has, and what admission promises of it.
    hosts: Resources
    capacity: Resources
    cpu_share: float
    held: Resources
    running: int
    waiting: int
    # This project's entries, running first, then the line in order.
    entries: list[PublicEntry] = field(default_factory=list)
    others_running: int = 0
    others_waiting: int = 0


async def public_pool(session: AsyncSession, hosts: list[HostNode], project_id: str) -> PublicPool:
    slices, _ = await inventory(session)
    public = [n for n in schedulable_nodes(hosts, slices) if not n.pool]
    has = _sum(Resources(n.vcpus, n.memory_bytes, len(n.gpu_ids)) for n in public)
    promised = _sum(admission_capacity(n) for n in public)
    share = max((n.cpu_share for n in public), default=1.0)
    return await session.run_sync(_read, project_id, has, promised, share)


def _read(
    session: Session, project_id: str, has: Resources, promised: Resources, share: float
) -> PublicPool:
    held_rows = session.execute(
        select(
            WorkloadTask.workload_id,
            func.sum(WorkloadTask.vcpus),
            func.sum(WorkloadTask.memory_bytes),
            func.sum(WorkloadTask.gpus),
        )
        .join(Workload, Workload.id == WorkloadTask.workload_id)
        .where(Workload.pool == "", WorkloadTask.status.in_(_LIVE_TASKS))
        .group_by(WorkloadTask.workload_id)
    ).all()
    held = {w: Resources(float(c or 0), int(m or 0), int(g or 0)) for w, c, m, g in held_rows}
    live = (WorkloadStatus.PENDING.value, WorkloadStatus.RUNNING.value)
    rows = session.execute(
        select(
            Workload.id,
            Workload.project_id,
            Workload.kind,
            Workload.resource_id,
            Workload.status,
            Workload.reason,
            Workload.queued_at,
        )
        .where(Workload.pool == "", Workload.status.in_(live))
        .order_by(Workload.priority.desc(), Workload.queued_at, Workload.id)
    ).all()
    entries: list[PublicEntry] = []
    running = waiting = others_running = others_waiting = 0
    for workload_id, owner, kind, resource_id, status, reason, queued_at in rows:
        pending = status == WorkloadStatus.PENDING.value
        waiting += pending
        running += not pending
        if owner != project_id:
            others_waiting += pending
            others_running += not pending
            continue
        if len(entries) < SHOWN:
            entries.append(
                PublicEntry(
                    workload_id,
                    kind,
                    describe(session, kind, resource_id),
                    status,
                    waiting if pending else None,
                    reason if pending else "",
                    held.get(workload_id, Resources()),
                    queued_at,
                )
            )
    entries.sort(key=lambda e: (e.position is not None, e.position or 0))
    return PublicPool(
        hosts=has,
        capacity=promised,
        cpu_share=share,
        held=_sum(held.values()),
        running=running,
        waiting=waiting,
        entries=entries,
        others_running=others_running,
        others_waiting=others_waiting,
    )


def _sum(items: Iterable[Resources]) -> Resources:
    total = Resources()
    for item in items:
        total = Resources(
            total.vcpus + item.vcpus,
            total.memory_bytes + item.memory_bytes,
            total.gpus + item.gpus,
        )
    return total
