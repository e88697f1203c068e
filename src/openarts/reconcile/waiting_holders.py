"""Who holds what a waiting workload waits for: the running work of its pool, by name.

A reason that says only "2 vCPUs free" leaves a user to guess what to stop. This names
the work that holds the pool ("held by service iris-svc (2 vCPUs, 8.0 GiB), notebook nb
(1 vCPUs, 4.0 GiB)"). Only the waiting workload's own project's work is named: other
projects' work is summed without names, so no project learns another's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openarts.backends.base import TaskState
from openarts.db.tables import Service, ServiceReplica, Workload, WorkloadTask
from openarts.domain.scheduling import Resources
from openarts.domain.services import WORKLOAD_KIND as SERVICE_KIND
from openarts.services.workload_names import describe

# Past this many, the rest of a pool's holders are summed ("and 3 more").
NAMED = 5
# A task holds what it asked for from its start until it ends.
LIVE = ("starting", TaskState.RUNNING.value)


@dataclass(frozen=True, slots=True)
class Holder:
    project_id: str
    kind: str
    resource_id: str
    held: Resources


def holders_by_pool(session: Session, pools: set[str]) -> dict[str, list[Holder]]:
    """The live work of each of ``pools`` ("" the public one), largest first."""
    if not pools:
        return {}
    rows = session.execute(
        select(
            Workload.pool,
            Workload.project_id,
            Workload.kind,
            Workload.resource_id,
            func.sum(WorkloadTask.vcpus),
            func.sum(WorkloadTask.memory_bytes),
            func.sum(WorkloadTask.gpus),
        )
        .join(WorkloadTask, WorkloadTask.workload_id == Workload.id)
        .where(
            Workload.pool.in_(sorted(pools)),
            WorkloadTask.status.in_(LIVE),
        )
        .group_by(Workload.id, Workload.pool, Workload.project_id, Workload.kind)
        .group_by(Workload.resource_id)
    ).all()
    found: dict[str, list[Holder]] = {}
    for pool, project_id, kind, resource_id, vcpus, memory, gpus in rows:
        held = Resources(float(vcpus or 0), int(memory or 0), int(gpus or 0))
        found.setdefault(pool, []).append(Holder(project_id, kind, resource_id, held))
    for holders in found.values():
        holders.sort(key=lambda h: (-h.held.vcpus, -h.held.memory_bytes, h.resource_id))
    return found


def held_by(session: Session, project_id: str, holders: list[Holder]) -> str:
    """ "held by ..." for a workload of ``project_id``; "" when nothing holds the pool."""
    own = [h for h in holders if h.project_id == project_id]
    others = [h for h in holders if h.project_id != project_id]
    parts = [
        f"{describe(session, h.kind, h.resource_id)} ({h.held.describe()})" for h in own[:NAMED]
    ]
    if len(own) > NAMED:
        parts.append(f"{len(own) - NAMED} more of this project's")
    if others:
        parts.append(f"other projects' work ({_sum(others).describe()})")
    return f"held by {', '.join(parts)}" if parts else ""


def _sum(holders: list[Holder]) -> Resources:
    return Resources(
        sum(h.held.vcpus for h in holders),
        sum(h.held.memory_bytes for h in holders),
        sum(h.held.gpus for h in holders),
    )


def event_resource_name(session: Session, kind: str, resource_id: str) -> str:
    """The resource name a workload's events are listed under: a replica's are its
    service's (GET .../services/{id}/events lists them by the service's name)."""
    if kind == SERVICE_KIND:
        replica = session.get(ServiceReplica, resource_id)
        service = session.get(Service, replica.service_id) if replica is not None else None
        if service is not None:
            return service.name
    return resource_id
