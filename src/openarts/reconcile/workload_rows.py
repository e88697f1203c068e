"""What the workload reconciler reads and writes, as plain functions of one transaction.

Each function here is one whole step of a pass, run by ``Database.run_in_transaction``.
None of them calls the backend; the reconciler does that between them. The statements
are Core statements built once, with bound parameters: building a statement and going
through the ORM cost more than SQLite takes to run it, and a pass runs a dozen of them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import BindParameter, Table, bindparam, or_, select
from sqlalchemy.orm import Session

from openarts.backends.base import (
    BackendError,
    ResourceRequest,
    TaskHandle,
    TaskSpec,
    TaskState,
)
from openarts.db.lookups import not_for_lookup
from openarts.db.tables import Workload, WorkloadTask
from openarts.domain.capacity import SchedulableNode, Slice, format_gpu_ids, parse_gpu_ids
from openarts.domain.cpu_share import capped_note
from openarts.domain.events import EventType
from openarts.domain.sandbox_view import TaskView
from openarts.domain.scheduling import Resources
from openarts.domain.services import WORKLOAD_KIND as SERVICE_KIND
from openarts.domain.workloads import ALLOWED_TRANSITIONS, WorkloadStatus
from openarts.ids import now_ms
from openarts.reconcile.waiting_holders import event_resource_name, held_by, holders_by_pool
from openarts.services import pools as pool_service
from openarts.services import workloads as workload_service
from openarts.services.events import NewEvent, insert_events_sync

log = logging.getLogger("openarts.reconcile")

STARTING = "starting"
# A pass considers at most this many waiting workloads, first in line first: its work stays
# bounded however long the queue grows, and the rest are reached as the line moves.
ADMISSION_WINDOW = 256
# What most passes read first (see WorkloadReconciler._admit).
ADMISSION_HEAD = 16
LIVE_TASK_STATES = {STARTING, TaskState.RUNNING.value}
_TASK_FAILURES = {TaskState.FAILED.value, TaskState.LOST.value}
_MUST_STOP = [
    WorkloadStatus.STOPPING,
    WorkloadStatus.SUCCEEDED,
    WorkloadStatus.FAILED,
    WorkloadStatus.STOPPED,
]
_TASKS = cast(Table, WorkloadTask.__table__)
_WORKLOADS = cast(Table, Workload.__table__)
_T = _TASKS.c
_W = _WORKLOADS.c
# What a status change needs to know of a workload.
_WHO = (_W.id, _W.status, _W.project_id, _W.kind, _W.resource_id)
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)

_STOP_WANTED = select(*_WHO).where(
    _W.desired == "stop",
    _W.status.in_([WorkloadStatus.PENDING.value, WorkloadStatus.RUNNING.value]),
)
_MUST_END = (
    select(_T.id, _T.handle)
    .join(_WORKLOADS, _W.id == _T.workload_id)
    .where(
        _T.status.in_(sorted(LIVE_TASK_STATES)),
        _T.handle.is_not(None),
        _W.status.in_([s.value for s in _MUST_STOP]),
    )
)
_LIVE = select(_T.id, _T.handle, _T.workload_id).where(_T.status.in_(sorted(LIVE_TASK_STATES)))
_END_TASK = (
    _TASKS.update()
    .where(
        _T.id == bindparam("b_id"),
        # No IN here: executemany cannot expand it.
        or_(*(_T.status == state for state in sorted(LIVE_TASK_STATES))),
    )
    .values(
        status=bindparam("b_status"),
        exit_code=bindparam("b_exit_code"),
        reason=bindparam("b_reason"),
        finished_at=bindparam("b_finished_at"),
    )
)
_WORKLOADS_BY_ID = select(*_WHO).where(_W.id.in_(_IDS))
_TASKS_OF = (
    select(_T.workload_id, _T.id, _T.rank, _T.status, _T.reason, _T.handle)
    .where(_T.workload_id.in_(_IDS))
    .order_by(_T.rank)
)
# One pool's line, first in line first: read through ix_workloads_line, so the head
# costs the same however long the line is.
_LINE = (
    select(_W.id, _W.pool, _W.priority, _W.queued_at)
    .where(
        _W.status == WorkloadStatus.PENDING.value,
        _W.pool == bindparam("pool"),
        _W.desired == "run",
    )
    .order_by(_W.priority.desc(), _W.queued_at, _W.id)
    .limit(bindparam("limit"))
)
_SPECS = select(_W.id, _W.spec).where(_W.id.in_(_IDS))
_BUSY = select(_T.node, _T.vcpus, _T.memory_bytes, _T.gpus, _T.gpu_ids).where(
    _T.status.in_(sorted(LIVE_TASK_STATES))
)
_START_TASK = (
    _TASKS.update()
    .where(_T.id == bindparam("b_id"), _T.status == STARTING)
    .values(
        handle=bindparam("b_handle"),
        status=TaskState.RUNNING.value,
        started_at=bindparam("b_started_at"),
    )
)
_WAITING_REASONS = select(*_WHO, _W.reason, _W.pool).where(
    _W.id.in_(_IDS), not_for_lookup(_W.status) == WorkloadStatus.PENDING.value
)
_SET_WAITING_REASON = (
    _WORKLOADS.update()
    .where(_W.id == bindparam("b_id"), _W.status == WorkloadStatus.PENDING.value)
    .values(reason=bindparam("b_reason"))
)


class LiveTask(NamedTuple):
    id: str
    handle: str | None
    workload_id: str


class PassStart(NamedTuple):
    # Live tasks of workloads that must end; None when not looked for this pass.
    to_stop: list[TaskHandle] | None
    live: list[LiveTask]


def begin_pass(session: Session, *, recheck_stops: bool) -> PassStart:
    """Act on stop requests, find the live tasks that must end (after a request, or when
    ``recheck_stops``: a stop cut short by a restart is simply issued again), and read
    every live task for observation."""
    wanted = session.execute(_STOP_WANTED).all()
    workload_service.switch_workload_statuses_sync(
        session,
        [
            workload_service.StatusChange(
                row.id,
                row.project_id,
                row.kind,
                row.resource_id,
                WorkloadStatus(row.status),
                *(
                    (WorkloadStatus.STOPPED, "stopped before it started")
                    if row.status == WorkloadStatus.PENDING
                    else (WorkloadStatus.STOPPING, "stop requested")
                ),
            )
            for row in wanted
        ],
    )
    to_stop = None
    if wanted or recheck_stops:
        rows = session.execute(_MUST_END).all()
        to_stop = [h for h in (parse_handle(t, text) for t, text in rows) if h is not None]
    live = [LiveTask(*row) for row in session.execute(_LIVE)]
    return PassStart(to_stop, live)


def ended_row(
    task_id: str, state: str, exit_code: int | None, reason: str, now: int
) -> dict[str, object]:
    return {
        "b_id": task_id,
        "b_status": state,
        "b_exit_code": exit_code,
        "b_reason": reason,
        "b_finished_at": now,
    }


def record_endings(
    session: Session, ended: list[dict[str, object]], workload_ids: list[str]
) -> list[TaskHandle]:
    """Record the tasks that ended and settle their workloads; the handles of tasks to
    stop (the rest of a gang whose member failed)."""
    if not ended:
        return []
    # One statement for all of them; a task some other step already ended stays.
    session.execute(_END_TASK, ended)
    return _settle(session, workload_ids)


class BusyTask(NamedTuple):
    """What admission needs of a live task: where it runs and what it holds."""

    node: str
    vcpus: float
    memory_bytes: int
    gpus: int
    gpu_ids: str


class AdmissionView(NamedTuple):
    # (id, pool, priority, queued_at) of the head of each pool's line, in order.
    window: list[tuple[str, str, int, int]]
    # Stored specs of the window's workloads not in ``known``.
    new_specs: dict[str, str]
    busy: list[BusyTask]
    slices: list[Slice]
    pool_names: dict[str, str]


def read_admission(session: Session, known: frozenset[str], limit: int) -> AdmissionView:
    """What admission needs: the head of each pool's line (``limit`` per pool, so no
    pool's queue starves another's and a long queue costs the pass nothing more), what
    live tasks hold, and the pools' nodes."""
    slices, pool_names = pool_service.inventory_sync(session)
    window: list[tuple[str, str, int, int]] = []
    for pool in ["", *pool_names]:
        window += [tuple(row) for row in session.execute(_LINE, {"pool": pool, "limit": limit})]
    if not window:
        return AdmissionView([], {}, [], slices, pool_names)
    window.sort(key=lambda w: (-w[2], w[3], w[0]))
    unknown = [w[0] for w in window if w[0] not in known]
    new_specs: dict[str, str] = {}
    if unknown:
        new_specs = {
            workload_id: spec for workload_id, spec in session.execute(_SPECS, {"ids": unknown})
        }
    busy = [BusyTask(*row) for row in session.execute(_BUSY)]
    return AdmissionView(window, new_specs, busy, slices, pool_names)


class GpuLedger:
    """Which GPU indices each node has free, so that no two tasks share a device."""

    def __init__(self, nodes: list[SchedulableNode], busy: list[BusyTask]) -> None:
        in_use: dict[str, set[int]] = {}
        for task in busy:
            in_use.setdefault(task.node, set()).update(parse_gpu_ids(task.gpu_ids))
        self.free = {
            n.name: [gpu for gpu in n.gpu_ids if gpu not in in_use.get(n.name, set())]
            for n in nodes
        }

    def take(self, node: str, count: int) -> tuple[int, ...]:
        free = self.free.get(node, [])
        if len(free) < count:
            # Admission counted these GPUs as free; a mismatch is a bug, not a user error.
            raise BackendError(f"node {node} has {len(free)} free GPU(s), {count} needed")
        taken, self.free[node] = free[:count], free[count:]
        return tuple(taken)


class Claimed(NamedTuple):
    # Per workload that moved to running: what to start, and its kind.
    groups: dict[str, list[TaskSpec]]
    kinds: dict[str, str]


def claim_admitted(
    session: Session,
    admitted: dict[str, list[str]],
    specs: dict[str, str],
    needs: dict[str, tuple[Resources, ...]],
    nodes: list[SchedulableNode],
    busy: list[BusyTask],
    *,
    pool_nodes: set[str],
    lock_capacity: bool,
    is_sqlite: bool,
) -> Claimed:
    """Mark the admitted workloads running and insert their tasks (status starting),
    each with what it was admitted with (``needs``: a task larger than the public pool's
    host runs capped at it); what to start for each workload that moved."""
    if lock_capacity:
        pool_service.take_capacity_lock_sync(session, is_sqlite)
    # A pool node may have been deleted since admission read it: work placed on one
    # waits for the next pass instead of landing there.
    gone = pool_service.unschedulable_nodes_sync(session, pool_nodes)
    rows = session.execute(_WORKLOADS_BY_ID, {"ids": list(admitted)}).all()
    moved = workload_service.switch_workload_statuses_sync(
        session,
        [
            workload_service.StatusChange(
                row.id,
                row.project_id,
                row.kind,
                row.resource_id,
                WorkloadStatus.PENDING,
                WorkloadStatus.RUNNING,
                "; ".join(
                    part
                    for part in (
                        f"scheduled on {', '.join(sorted(set(admitted[row.id])))}",
                        capped_note(needs_of(specs[row.id])[0], needs[row.id][0]),
                    )
                    if part
                ),
            )
            for row in rows
            if not gone.intersection(admitted[row.id])
        ],
        only_if_desired="run",
    )
    gpus = GpuLedger(nodes, busy)
    host_of = {node.name: node.host or node.name for node in nodes}
    groups: dict[str, list[TaskSpec]] = {}
    task_rows: list[dict[str, object]] = []
    for workload_id in sorted(moved):
        groups[workload_id], new_rows = _task_rows(
            workload_id,
            specs[workload_id],
            needs[workload_id],
            admitted[workload_id],
            gpus,
            host_of,
        )
        task_rows += new_rows
    if task_rows:
        session.execute(_TASKS.insert(), task_rows)
    return Claimed(groups, {row.id: row.kind for row in rows if row.id in groups})


def record_starts(
    session: Session, started: list[dict[str, object]], failed: dict[str, str]
) -> None:
    """Keep the handles of the tasks that started; fail the workloads that did not."""
    if started:
        session.execute(_START_TASK, started)
    for workload_id, reason in failed.items():
        _start_failed(session, workload_id, reason)


def fail_unreadable(session: Session, workload_ids: list[str]) -> None:
    """A workload whose stored spec cannot be read can never run: it fails, with the
    reason, instead of stalling every pass."""
    _fail(
        session,
        workload_ids,
        "its stored task spec is unreadable, so it can never start",
        only_pending=True,
    )


def _fail(session: Session, workload_ids: list[str], reason: str, *, only_pending: bool) -> None:
    rows = session.execute(_WORKLOADS_BY_ID, {"ids": workload_ids}).all()
    workload_service.switch_workload_statuses_sync(
        session,
        [
            workload_service.StatusChange(
                row.id,
                row.project_id,
                row.kind,
                row.resource_id,
                WorkloadStatus(row.status),
                WorkloadStatus.FAILED,
                reason,
                EventType.WARNING,
            )
            for row in rows
            if (
                row.status == WorkloadStatus.PENDING
                if only_pending
                else WorkloadStatus.FAILED in ALLOWED_TRANSITIONS[WorkloadStatus(row.status)]
            )
        ],
    )


def note_waiting(session: Session, reasons: dict[str, str]) -> None:
    """Show each waiting workload why it waits, and what holds its pool; an event when
    the cause changes."""
    rows = session.execute(_WAITING_REASONS, {"ids": list(reasons)}).all()
    holders = holders_by_pool(session, {row.pool for row in rows if reasons[row.id]})
    reasons = dict(reasons)
    # Said once per project and pool, however many of its workloads wait there.
    said: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row.project_id, row.pool)
        if key not in said:
            said[key] = held_by(session, row.project_id, holders.get(row.pool, []))
        held = said[key]
        if reasons[row.id].startswith("waiting for") and held:
            reasons[row.id] = f"{reasons[row.id]}; {held}"
    changed = [row for row in rows if row.reason != reasons[row.id]]
    if not changed:
        return
    session.execute(
        _SET_WAITING_REASON, [{"b_id": row.id, "b_reason": reasons[row.id]} for row in changed]
    )
    # The last event of a workload that waits tells its cause then; a new cause never
    # repeats it, so there is nothing to fold.
    insert_events_sync(
        session,
        [
            NewEvent(
                project_id=row.project_id,
                resource_type=row.kind,
                resource_name=event_resource_name(session, row.kind, row.resource_id),
                resource_id=row.id,
                reason="Waiting",
                message=reasons[row.id],
            )
            for row in changed
            if _cause(row.reason) != _cause(reasons[row.id])
        ],
    )


def parse_handle(task_id: str, text: str | None) -> TaskHandle | None:
    if text is None:
        return None
    try:
        return TaskHandle.from_json(text)
    except (BackendError, ValueError, KeyError):
        log.error("task %s has an unreadable handle", task_id)
        return None


def _task_rows(
    workload_id: str,
    spec: str,
    needs: tuple[Resources, ...],
    placement: list[str],
    gpus: GpuLedger,
    host_of: dict[str, str],
) -> tuple[list[TaskSpec], list[dict[str, object]]]:
    """What to start for a workload, and its task rows (status starting) to insert."""
    specs, rows = [], []
    templates = workload_service.decode_tasks(spec)
    for rank, (template, need, node) in enumerate(zip(templates, needs, placement, strict=True)):
        task_id = f"{workload_id}-{rank}"
        gpu_ids = gpus.take(node, need.gpus)
        rows.append(
            {
                "id": task_id,
                "workload_id": workload_id,
                "rank": rank,
                "status": STARTING,
                "node": node,
                "handle": None,
                "exit_code": None,
                "reason": "",
                "vcpus": need.vcpus,
                "memory_bytes": need.memory_bytes,
                "gpus": need.gpus,
                "gpu_ids": format_gpu_ids(gpu_ids),
                "started_at": None,
                "finished_at": None,
            }
        )
        specs.append(
            TaskSpec(
                task_id=task_id,
                command=tuple(template.command),
                workdir=Path(template.workdir),
                env=template.env,
                resources=ResourceRequest(need.vcpus, need.memory_bytes, need.gpus),
                rank=rank,
                gpu_ids=gpu_ids,
                node=host_of.get(node, node),
                view=TaskView.from_json(template.view) if template.view else None,
            )
        )
    return specs, rows


def _settle(session: Session, workload_ids: list[str]) -> list[TaskHandle]:
    """Derive each workload's status from its tasks' (in a few statements for all of
    them); return the handles of tasks to stop (a failed gang member brings the rest
    down)."""
    if not workload_ids:
        return []
    workloads = session.execute(_WORKLOADS_BY_ID, {"ids": workload_ids}).all()
    tasks_of: dict[str, list[Any]] = {}
    for task in session.execute(_TASKS_OF, {"ids": workload_ids}):
        tasks_of.setdefault(task.workload_id, []).append(task)
    changes: list[workload_service.StatusChange] = []
    to_stop: list[TaskHandle] = []
    for row in workloads:
        current = WorkloadStatus(row.status)
        if current.finished:
            continue
        tasks = tasks_of.get(row.id, [])
        outcome = _outcome(current, tasks, row.kind)
        if outcome is None:
            continue
        to, reason, event_type = outcome
        changes.append(
            workload_service.StatusChange(
                row.id, row.project_id, row.kind, row.resource_id, current, to, reason, event_type
            )
        )
        if to is WorkloadStatus.FAILED:
            live = [t for t in tasks if t.status in LIVE_TASK_STATES]
            to_stop += [h for h in (parse_handle(t.id, t.handle) for t in live) if h is not None]
    workload_service.switch_workload_statuses_sync(session, changes)
    return to_stop


def _outcome(
    current: WorkloadStatus, tasks: list[Any], kind: str = ""
) -> tuple[WorkloadStatus, str, EventType] | None:
    """What a running or stopping workload becomes, given its tasks; None: no change.
    A service replica's tasks (a server and the relay in front of it) live together: one
    that ends, even well, ends the replica."""
    live = [t for t in tasks if t.status in LIVE_TASK_STATES]
    if current is WorkloadStatus.STOPPING:
        return (WorkloadStatus.STOPPED, "stopped", EventType.NORMAL) if not live else None
    failed = [t for t in tasks if t.status in _TASK_FAILURES]
    if failed:
        first = failed[0]
        reason = f"task {first.rank} failed: {first.reason or 'unknown reason'}"
        return WorkloadStatus.FAILED, reason, EventType.WARNING
    if any(t.status == TaskState.STOPPED.value for t in tasks):
        return (
            WorkloadStatus.FAILED,
            "a task was stopped from outside the platform",
            EventType.WARNING,
        )
    if not live:
        return WorkloadStatus.SUCCEEDED, "all tasks succeeded", EventType.NORMAL
    ended = [t for t in tasks if t.status == TaskState.SUCCEEDED.value]
    if kind == SERVICE_KIND and ended:
        return (
            WorkloadStatus.FAILED,
            f"task {ended[0].rank} exited with status 0 while the replica's other task "
            "ran: a replica's server must keep serving",
            EventType.WARNING,
        )
    return None


def _start_failed(session: Session, workload_id: str, reason: str) -> None:
    # The workload's row first, locked (PostgreSQL): a pass may be moving it at this very
    # moment (running -> stopping, on a stop request), and a status read before that move
    # commits would make the compare-and-set below miss, leaving the workload stopping
    # for ever with no task left to end. Locked, it is read as that move left it.
    session.execute(select(Workload.id).where(Workload.id == workload_id).with_for_update())
    now = now_ms()
    tasks = session.scalars(select(WorkloadTask).where(WorkloadTask.workload_id == workload_id))
    for task in tasks:
        task.status, task.reason, task.finished_at = TaskState.FAILED.value, reason, now
    _fail(session, [workload_id], f"could not start: {reason}", only_pending=False)


def _cause(reason: str) -> str:
    """A waiting reason without the part that changes all the time (what is free)."""
    return reason.split(";", 1)[0]


def needs_of(spec: str) -> tuple[Resources, ...]:
    tasks = tuple(
        Resources(t.vcpus, t.memory_bytes, t.gpus) for t in workload_service.decode_tasks(spec)
    )
    if not tasks:
        raise ValueError("a workload without tasks")
    return tasks
