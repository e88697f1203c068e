"""The workload reconciler: admits waiting work, starts it, watches it, stops it.

User actions only record intent (a new Pending workload, ``desired = "stop"``); this loop
does the slow work. Backend calls never happen inside a database transaction: each step
reads what to do, commits, calls the backend, then records what happened, batching every
workload of the pass into one transaction. ``run_once`` is one full pass, so tests can
step it; ``run_forever`` repeats it on an interval or as soon as ``wake()`` is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.backends.base import (
    BackendError,
    ComputeBackend,
    NodeInfo,
    ResourceRequest,
    TaskHandle,
    TaskSpec,
    TaskState,
)
from openarts.db.engine import Database
from openarts.db.tables import Workload, WorkloadTask
from openarts.domain.capacity import (
    HostNode,
    SchedulableNode,
    format_gpu_ids,
    parse_gpu_ids,
    schedulable_nodes,
)
from openarts.domain.events import EventType
from openarts.domain.workloads import WorkloadStatus
from openarts.ids import now_ms
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.pools import PoolReconciler
from openarts.reconcile.scheduler import Node, Resources, Waiting, admit
from openarts.services import pools as pool_service
from openarts.services import workloads as workload_service
from openarts.services.events import record_event

log = logging.getLogger("openarts.reconcile")

# Core tables, for the statements that touch many rows at once (executemany).
_TASKS = cast(Table, WorkloadTask.__table__)
_WORKLOADS = cast(Table, Workload.__table__)
# What a status change needs to know of a workload.
_WHO = (Workload.id, Workload.status, Workload.project_id, Workload.kind, Workload.resource_id)

STARTING = "starting"
# Waiting reasons mention the free capacity, which moves with every task; they are
# rewritten at most this often.
REASON_REFRESH_S = 2.0
# Live tasks of stopping or finished workloads are looked for this often (and at once
# after a stop request).
STOP_RECHECK_S = 2.0
# A pass considers at most this many waiting workloads, first in line first: its work stays
# bounded however long the queue grows, and the rest are reached as the line moves.
ADMISSION_WINDOW = 256
_TASK_FAILURES = {TaskState.FAILED.value, TaskState.LOST.value}
_LIVE_TASK_STATES = {STARTING, TaskState.RUNNING.value}
_MUST_STOP = [
    WorkloadStatus.STOPPING,
    WorkloadStatus.SUCCEEDED,
    WorkloadStatus.FAILED,
    WorkloadStatus.STOPPED,
]


class WorkloadReconciler:
    def __init__(
        self,
        db: Database,
        backend: ComputeBackend,
        *,
        starvation_s: float = 300.0,
        stop_grace_s: float = 10.0,
        interval_s: float = 1.0,
        leadership: Leadership | None = None,
        pools: PoolReconciler | None = None,
    ) -> None:
        self.db = db
        # Admission onto pool nodes and changes to pools take turns (pools.pool_change).
        self.change_lock = pools.change_lock if pools is not None else asyncio.Lock()
        # Dedicated pools are reconciled first in each pass: admission needs their nodes.
        self.pools = pools
        # The backend's nodes as of the last pass; services read it instead of calling
        # the backend themselves.
        self.hosts: list[HostNode] = []
        # None: this reconciler assumes it is alone (tests that step run_once).
        self.leadership = leadership
        self.backend = backend
        self.starvation_s = starvation_s
        self.stop_grace_s = stop_grace_s
        self.interval_s = interval_s
        self._wake = asyncio.Event()
        self._stops: set[asyncio.Task[None]] = set()
        self._reasons_refreshed = -REASON_REFRESH_S
        # Tasks between admission and their handle being recorded: not "never started".
        self._launching: set[str] = set()
        self._stopping: set[str] = set()
        # Per waiting workload: its needs (decoded once) and its stored spec, kept while
        # it waits, so neither admission nor launch reads or decodes them again.
        self._needs: dict[str, tuple[Resources, ...]] = {}
        self._specs: dict[str, str] = {}
        self._stops_checked = -STOP_RECHECK_S

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        try:
            while True:
                self._wake.clear()
                try:
                    if self.leadership is None or await self.leadership.held():
                        await self.run_once()
                except Exception:
                    log.exception("a reconcile pass failed; trying again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
        finally:
            # Stops in flight are abandoned, not lost: the next start issues them again.
            for stop in list(self._stops):
                stop.cancel()
            if self.leadership is not None:
                await self.leadership.release()

    async def run_once(self) -> None:
        await self.refresh_hosts()
        if self.pools is not None:
            await self.pools.run_once(self.hosts)
        await self._handle_stop_requests()
        await self._observe()
        await self._admit()

    async def refresh_hosts(self) -> list[HostNode]:
        self.hosts = [host_node(n) for n in await self.backend.nodes()]
        return self.hosts

    async def drain_stops(self) -> None:
        """Wait for the stops this reconciler has begun (for tests and shutdown)."""
        if self._stops:
            await asyncio.gather(*self._stops, return_exceptions=True)

    # -- stop requests -------------------------------------------------------------------
    async def _handle_stop_requests(self) -> None:
        async with self.db.session() as session, session.begin():
            wanted = (
                await session.execute(
                    select(*_WHO).where(
                        Workload.desired == "stop",
                        Workload.status.in_([WorkloadStatus.PENDING, WorkloadStatus.RUNNING]),
                    )
                )
            ).all()
            await workload_service.switch_workload_statuses(
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
            # Not once but again and again: a stop cut short by a restart, or one that
            # failed, is simply issued again. Live tasks of a stopping or finished
            # workload must end. (At once after a request, else every few seconds.)
            if not wanted and time.monotonic() - self._stops_checked < STOP_RECHECK_S:
                return
            self._stops_checked = time.monotonic()
            rows = (
                await session.execute(
                    select(WorkloadTask.id, WorkloadTask.handle)
                    .join(Workload, Workload.id == WorkloadTask.workload_id)
                    .where(
                        WorkloadTask.status.in_(_LIVE_TASK_STATES),
                        WorkloadTask.handle.is_not(None),
                        Workload.status.in_(_MUST_STOP),
                    )
                )
            ).all()
        for task_id, text in rows:
            handle = _parse_handle(task_id, text)
            if handle is not None:
                self._stop_in_background(handle)

    def _stop_in_background(self, handle: TaskHandle) -> None:
        if handle.task_id in self._stopping:
            return  # one stop per task in flight
        self._stopping.add(handle.task_id)
        task = asyncio.create_task(self._stop(handle))
        self._stops.add(task)
        task.add_done_callback(self._stops.discard)

    async def _stop(self, handle: TaskHandle) -> None:
        try:
            await self.backend.stop(handle, grace_s=self.stop_grace_s)
        except Exception:
            log.exception("stopping task %s failed; the next pass tries again", handle.task_id)
        finally:
            self._stopping.discard(handle.task_id)
        self.wake()

    # -- observation ---------------------------------------------------------------------
    async def _observe(self) -> None:
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(WorkloadTask.id, WorkloadTask.handle, WorkloadTask.workload_id).where(
                        WorkloadTask.status.in_(_LIVE_TASK_STATES)
                    )
                )
            ).all()
        if not rows:
            return
        workload_of = {task_id: workload_id for task_id, _, workload_id in rows}
        handles = {t: _parse_handle(t, text) for t, text, _ in rows if text}
        unstarted = [t for t, text, _ in rows if text is None and t not in self._launching]
        for task_id in unstarted:
            # Admitted, but the server stopped before recording a handle: whatever may
            # have started is ended, then the task counts as lost.
            await self.backend.discard(task_id)
        try:
            observed = await self.backend.poll([h for h in handles.values() if h is not None])
        except Exception:
            log.exception("polling tasks failed; trying again next pass")
            return
        now = now_ms()
        ended: list[dict[str, object]] = []
        for task_id in unstarted:
            ended.append(_ended(task_id, TaskState.LOST.value, None, "never started", now))
        for task_id, handle in handles.items():
            if handle is None:
                ended.append(
                    _ended(task_id, TaskState.LOST.value, None, "its handle is unreadable", now)
                )
                continue
            observation = observed.get(task_id)
            if observation is not None and observation.state.finished:
                ended.append(
                    _ended(
                        task_id,
                        observation.state.value,
                        observation.exit_code,
                        observation.reason or "",
                        now,
                    )
                )
        if not ended:
            return
        async with self.db.session() as session, session.begin():
            tasks = _TASKS
            # One statement for all of them; a task some other step already ended stays.
            await session.execute(
                tasks.update()
                .where(
                    tasks.c.id == bindparam("b_id"),
                    # No IN here: executemany cannot expand it.
                    or_(*(tasks.c.status == state for state in _LIVE_TASK_STATES)),
                )
                .values(
                    status=bindparam("b_status"),
                    exit_code=bindparam("b_exit_code"),
                    reason=bindparam("b_reason"),
                    finished_at=bindparam("b_finished_at"),
                ),
                ended,
            )
            touched = {workload_of[str(e["b_id"])] for e in ended}
            to_stop = await _settle(session, sorted(touched))
        for handle in to_stop:
            self._stop_in_background(handle)

    # -- admission -----------------------------------------------------------------------
    async def _admit(self) -> None:
        async with self.db.session() as session:
            # The head of each pool's line (per pool: no pool's queue starves another's),
            # cut in the database, so a long queue costs the pass nothing more.
            order = (Workload.priority.desc(), Workload.queued_at, Workload.id)
            ranked = (
                select(
                    Workload.id,
                    Workload.pool,
                    Workload.priority,
                    Workload.queued_at,
                    func.row_number()
                    .over(partition_by=Workload.pool, order_by=order)
                    .label("place"),
                )
                .where(Workload.status == WorkloadStatus.PENDING, Workload.desired == "run")
                .subquery()
            )
            line = await session.execute(
                select(ranked.c.id, ranked.c.pool, ranked.c.priority, ranked.c.queued_at)
                .where(ranked.c.place <= ADMISSION_WINDOW)
                .order_by(ranked.c.priority.desc(), ranked.c.queued_at, ranked.c.id)
            )
            window: list[tuple[str, str, int, int]] = [tuple(row) for row in line]
            if not window:
                self._needs.clear()
                self._specs.clear()
                return
            # A workload's needs never change: decoded once, kept while it waits.
            self._needs = {w[0]: self._needs[w[0]] for w in window if w[0] in self._needs}
            self._specs = {w[0]: self._specs[w[0]] for w in window if w[0] in self._specs}
            unknown = [w[0] for w in window if w[0] not in self._needs]
            unreadable: list[str] = []
            if unknown:
                specs = await session.execute(
                    select(Workload.id, Workload.spec).where(Workload.id.in_(unknown))
                )
                for workload_id, spec in specs:
                    try:
                        self._needs[workload_id] = _needs_of(spec)
                        self._specs[workload_id] = spec
                    except (ValueError, TypeError, KeyError):
                        unreadable.append(workload_id)
            busy = [
                BusyTask(*row)
                for row in await session.execute(
                    select(
                        WorkloadTask.node,
                        WorkloadTask.vcpus,
                        WorkloadTask.memory_bytes,
                        WorkloadTask.gpus,
                        WorkloadTask.gpu_ids,
                    ).where(WorkloadTask.status.in_(_LIVE_TASK_STATES))
                )
            ]
            slices, pool_names = await pool_service.inventory(session)
        if unreadable:
            await self._fail_unreadable(unreadable)
        pending = [
            Waiting(workload_id, pool, priority, queued_at, self._needs[workload_id])
            for workload_id, pool, priority, queued_at in window
            if workload_id in self._needs
        ]
        nodes = schedulable_nodes(self.hosts, slices)
        explain = time.monotonic() - self._reasons_refreshed >= REASON_REFRESH_S
        decision = admit(
            pending,
            _free_nodes(nodes, busy),
            now_ms=now_ms(),
            starvation_s=self.starvation_s,
            pool_names=pool_names,
            explain=explain,
        )
        if decision.admitted:
            gpus = _GpuLedger(nodes, busy)
            await self._launch(decision.admitted, gpus)
        if explain:
            self._reasons_refreshed = time.monotonic()
            await self._note_waiting(decision.waiting)

    async def _fail_unreadable(self, workload_ids: list[str]) -> None:
        """A workload whose stored spec cannot be read can never run: it fails, with the
        reason, instead of stalling every pass."""
        async with self.db.session() as session, session.begin():
            rows = await session.scalars(select(Workload).where(Workload.id.in_(workload_ids)))
            for workload in list(rows):
                await workload_service.switch_workload_status(
                    session,
                    workload,
                    WorkloadStatus.FAILED,
                    "its stored task spec is unreadable, so it can never start",
                    event_type=EventType.WARNING,
                )

    async def _launch(self, admitted: dict[str, list[str]], gpus: _GpuLedger) -> None:
        """Mark the admitted workloads running and start their tasks, all in one go."""
        groups: dict[str, list[TaskSpec]] = {}
        host_names = {host.name for host in self.hosts}
        pool_nodes = {n for p in admitted.values() for n in p if n not in host_names}
        # Only work that lands on pool nodes needs the lock across server processes.
        async with pool_service.pool_change(
            self.db, self.change_lock, across_processes=bool(pool_nodes)
        ) as session:
            # A pool node may have been deleted since admission read it: work placed on
            # one waits for the next pass instead of landing there.
            gone = await pool_service.unschedulable_nodes(session, pool_nodes)
            rows = (
                await session.execute(
                    select(
                        Workload.id, Workload.project_id, Workload.kind, Workload.resource_id
                    ).where(Workload.id.in_(list(admitted)))
                )
            ).all()
            candidates = {row.id: row for row in rows if not gone.intersection(admitted[row.id])}
            moved = await workload_service.switch_workload_statuses(
                session,
                [
                    workload_service.StatusChange(
                        row.id,
                        row.project_id,
                        row.kind,
                        row.resource_id,
                        WorkloadStatus.PENDING,
                        WorkloadStatus.RUNNING,
                        f"scheduled on {', '.join(sorted(set(admitted[row.id])))}",
                    )
                    for row in candidates.values()
                ],
                only_if_desired="run",
            )
            task_rows: list[dict[str, object]] = []
            for workload_id in sorted(moved):
                specs, new_rows = _task_rows(
                    workload_id, self._specs[workload_id], admitted[workload_id], gpus
                )
                groups[workload_id] = specs
                task_rows += new_rows
            if task_rows:
                await session.execute(insert(WorkloadTask), task_rows)
        launching = {spec.task_id for specs in groups.values() for spec in specs}
        self._launching |= launching
        try:
            # Outside the transaction: the backend calls.
            results = await asyncio.gather(
                *(self.backend.start_group(specs) for specs in groups.values()),
                return_exceptions=True,
            )
            started_at = now_ms()
            started: list[dict[str, object]] = []
            failed: dict[str, str] = {}
            for workload_id, result in zip(groups, results, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, BackendError):
                        log.error("starting %s failed", workload_id, exc_info=result)
                    failed[workload_id] = str(result)
                    continue
                started += [
                    {"b_id": h.task_id, "b_handle": h.to_json(), "b_started_at": started_at}
                    for h in result
                ]
            async with self.db.session() as session, session.begin():
                if started:
                    tasks = _TASKS
                    await session.execute(
                        tasks.update()
                        .where(tasks.c.id == bindparam("b_id"), tasks.c.status == STARTING)
                        .values(
                            handle=bindparam("b_handle"),
                            status=TaskState.RUNNING.value,
                            started_at=bindparam("b_started_at"),
                        ),
                        started,
                    )
                for workload_id, reason in failed.items():
                    await _start_failed(session, workload_id, reason)
        finally:
            self._launching -= launching

    async def _note_waiting(self, reasons: dict[str, str]) -> None:
        """Show each waiting workload why it waits; an event when the cause changes."""
        if not reasons:
            return
        async with self.db.session() as session, session.begin():
            rows = (
                await session.execute(
                    select(
                        Workload.id,
                        Workload.reason,
                        Workload.project_id,
                        Workload.kind,
                        Workload.resource_id,
                    ).where(
                        Workload.id.in_(list(reasons)), Workload.status == WorkloadStatus.PENDING
                    )
                )
            ).all()
            changed = [row for row in rows if row.reason != reasons[row.id]]
            if not changed:
                return
            workloads = _WORKLOADS
            await session.execute(
                workloads.update()
                .where(
                    workloads.c.id == bindparam("b_id"),
                    workloads.c.status == WorkloadStatus.PENDING.value,
                )
                .values(reason=bindparam("b_reason")),
                [{"b_id": row.id, "b_reason": reasons[row.id]} for row in changed],
            )
            for row in changed:
                if _cause(row.reason) != _cause(reasons[row.id]):
                    await record_event(
                        session,
                        project_id=row.project_id,
                        resource_type=row.kind,
                        resource_name=row.resource_id,
                        resource_id=row.id,
                        reason="Waiting",
                        message=reasons[row.id],
                    )


class _GpuLedger:
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


def _task_rows(
    workload_id: str, spec: str, placement: list[str], gpus: _GpuLedger
) -> tuple[list[TaskSpec], list[dict[str, object]]]:
    """What to start for a workload, and its task rows (status starting) to insert."""
    specs, rows = [], []
    templates = workload_service.decode_tasks(spec)
    for rank, (template, node) in enumerate(zip(templates, placement, strict=True)):
        task_id = f"{workload_id}-{rank}"
        gpu_ids = gpus.take(node, template.gpus)
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
                "vcpus": template.vcpus,
                "memory_bytes": template.memory_bytes,
                "gpus": template.gpus,
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
                resources=ResourceRequest(template.vcpus, template.memory_bytes, template.gpus),
                rank=rank,
                gpu_ids=gpu_ids,
            )
        )
    return specs, rows


def _ended(
    task_id: str, state: str, exit_code: int | None, reason: str, now: int
) -> dict[str, object]:
    return {
        "b_id": task_id,
        "b_status": state,
        "b_exit_code": exit_code,
        "b_reason": reason,
        "b_finished_at": now,
    }


async def _settle(session: AsyncSession, workload_ids: list[str]) -> list[TaskHandle]:
    """Derive each workload's status from its tasks' (in a few statements for all of
    them); return the handles of tasks to stop (a failed gang member brings the rest
    down)."""
    if not workload_ids:
        return []
    workloads = (await session.execute(select(*_WHO).where(Workload.id.in_(workload_ids)))).all()
    tasks_of: dict[str, list[Any]] = {}
    for task in await session.execute(
        select(
            WorkloadTask.workload_id,
            WorkloadTask.id,
            WorkloadTask.rank,
            WorkloadTask.status,
            WorkloadTask.reason,
            WorkloadTask.handle,
        )
        .where(WorkloadTask.workload_id.in_(workload_ids))
        .order_by(WorkloadTask.rank)
    ):
        tasks_of.setdefault(task.workload_id, []).append(task)
    changes: list[workload_service.StatusChange] = []
    to_stop: list[TaskHandle] = []
    for row in workloads:
        current = WorkloadStatus(row.status)
        if current.finished:
            continue
        tasks = tasks_of.get(row.id, [])
        outcome = _outcome(current, tasks)
        if outcome is None:
            continue
        to, reason, event_type = outcome
        changes.append(
            workload_service.StatusChange(
                row.id, row.project_id, row.kind, row.resource_id, current, to, reason, event_type
            )
        )
        if to is WorkloadStatus.FAILED:
            live = [t for t in tasks if t.status in _LIVE_TASK_STATES]
            to_stop += [h for h in (_parse_handle(t.id, t.handle) for t in live) if h is not None]
    await workload_service.switch_workload_statuses(session, changes)
    return to_stop


def _outcome(
    current: WorkloadStatus, tasks: list[Any]
) -> tuple[WorkloadStatus, str, EventType] | None:
    """What a running or stopping workload becomes, given its tasks; None: no change."""
    live = [t for t in tasks if t.status in _LIVE_TASK_STATES]
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
    return None


async def _start_failed(session: AsyncSession, workload_id: str, reason: str) -> None:
    workload = await session.get(Workload, workload_id)
    tasks = await session.scalars(
        select(WorkloadTask).where(WorkloadTask.workload_id == workload_id)
    )
    for task in tasks:
        task.status, task.reason, task.finished_at = TaskState.FAILED.value, reason, now_ms()
    if workload is not None:
        await workload_service.switch_workload_status(
            session,
            workload,
            WorkloadStatus.FAILED,
            f"could not start: {reason}",
            event_type=EventType.WARNING,
        )


def _parse_handle(task_id: str, text: str | None) -> TaskHandle | None:
    if text is None:
        return None
    try:
        return TaskHandle.from_json(text)
    except (BackendError, ValueError, KeyError):
        log.error("task %s has an unreadable handle", task_id)
        return None


def _cause(reason: str) -> str:
    """A waiting reason without the part that changes all the time (what is free)."""
    return reason.split(";", 1)[0]


class BusyTask(NamedTuple):
    """What admission needs of a live task: where it runs and what it holds."""

    node: str
    vcpus: float
    memory_bytes: int
    gpus: int
    gpu_ids: str


def _needs_of(spec: str) -> tuple[Resources, ...]:
    tasks = tuple(
        Resources(t.vcpus, t.memory_bytes, t.gpus) for t in workload_service.decode_tasks(spec)
    )
    if not tasks:
        raise ValueError("a workload without tasks")
    return tasks


def host_node(info: NodeInfo) -> HostNode:
    gpu_ids = tuple(info.gpu_ids) or tuple(range(info.gpus))
    return HostNode(info.name, info.vcpus, info.memory_bytes, gpu_ids)


def _free_nodes(nodes: list[SchedulableNode], busy: list[BusyTask]) -> list[Node]:
    used: dict[str, Resources] = {}
    for task in busy:
        before = used.get(task.node, Resources())
        used[task.node] = Resources(
            before.vcpus + task.vcpus,
            before.memory_bytes + task.memory_bytes,
            before.gpus + task.gpus,
        )
    nodes_out = []
    for n in nodes:
        capacity = Resources(n.vcpus, n.memory_bytes, len(n.gpu_ids))
        nodes_out.append(Node(n.name, n.pool, capacity - used.get(n.name, Resources()), capacity))
    return nodes_out
