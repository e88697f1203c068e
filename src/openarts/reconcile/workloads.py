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

from sqlalchemy import select
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
from openarts.domain.events import EventType
from openarts.domain.workloads import WorkloadStatus
from openarts.ids import now_ms
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.scheduler import Node, Resources, Waiting, admit
from openarts.services import workloads as workload_service
from openarts.services.events import record_event

log = logging.getLogger("openarts.reconcile")

STARTING = "starting"
# Waiting reasons mention the free capacity, which moves with every task; they are
# rewritten at most this often.
REASON_REFRESH_S = 2.0
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
    ) -> None:
        self.db = db
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
        await self._handle_stop_requests()
        await self._observe()
        await self._admit()

    async def drain_stops(self) -> None:
        """Wait for the stops this reconciler has begun (for tests and shutdown)."""
        if self._stops:
            await asyncio.gather(*self._stops, return_exceptions=True)

    # -- stop requests -------------------------------------------------------------------
    async def _handle_stop_requests(self) -> None:
        async with self.db.session() as session, session.begin():
            wanted = await session.scalars(
                select(Workload).where(
                    Workload.desired == "stop",
                    Workload.status.in_([WorkloadStatus.PENDING, WorkloadStatus.RUNNING]),
                )
            )
            for workload in list(wanted):
                if workload.status == WorkloadStatus.PENDING:
                    await workload_service.switch_workload_status(
                        session, workload, WorkloadStatus.STOPPED, "stopped before it started"
                    )
                else:
                    await workload_service.switch_workload_status(
                        session, workload, WorkloadStatus.STOPPING, "stop requested"
                    )
            # Every pass, not once: a stop cut short by a restart, or one that failed, is
            # simply issued again. Live tasks of a stopping or finished workload must end.
            rows = await session.scalars(
                select(WorkloadTask)
                .join(Workload, Workload.id == WorkloadTask.workload_id)
                .where(
                    WorkloadTask.status.in_(_LIVE_TASK_STATES),
                    WorkloadTask.handle.is_not(None),
                    Workload.status.in_(_MUST_STOP),
                )
            )
            to_stop = [_handle_of(row) for row in rows]
        for handle in to_stop:
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
            rows = list(
                await session.scalars(
                    select(WorkloadTask).where(WorkloadTask.status.in_(_LIVE_TASK_STATES))
                )
            )
        if not rows:
            return
        handles = {row.id: _handle_of(row) for row in rows if row.handle}
        unstarted = [row.id for row in rows if row.handle is None and row.id not in self._launching]
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
        to_stop: list[TaskHandle] = []
        async with self.db.session() as session, session.begin():
            current = await session.scalars(
                select(WorkloadTask).where(WorkloadTask.id.in_([row.id for row in rows]))
            )
            touched: set[str] = set()
            for task in current:
                if task.status not in _LIVE_TASK_STATES:
                    continue
                if task.handle is None:
                    if task.id in unstarted:
                        task.status, task.reason = TaskState.LOST.value, "never started"
                        task.finished_at = now
                        touched.add(task.workload_id)
                    continue
                if handles.get(task.id) is None:
                    task.status, task.reason = TaskState.LOST.value, "its handle is unreadable"
                    task.finished_at = now
                    touched.add(task.workload_id)
                    continue
                observation = observed.get(task.id)
                if observation is None or not observation.state.finished:
                    continue
                task.status = observation.state.value
                task.exit_code = observation.exit_code
                task.reason = observation.reason or ""
                task.finished_at = now
                touched.add(task.workload_id)
            if touched:
                await session.flush()
                for workload_id in sorted(touched):
                    to_stop += await _settle(session, workload_id)
        for handle in to_stop:
            self._stop_in_background(handle)

    # -- admission -----------------------------------------------------------------------
    async def _admit(self) -> None:
        nodes = await self.backend.nodes()
        async with self.db.session() as session:
            line = await session.execute(
                select(Workload.id, Workload.pool)
                .where(Workload.status == WorkloadStatus.PENDING, Workload.desired == "run")
                .order_by(Workload.priority.desc(), Workload.queued_at, Workload.id)
            )
            window: list[str] = []
            per_pool: dict[str, int] = {}
            for workload_id, pool in line:
                if per_pool.get(pool, 0) < ADMISSION_WINDOW:  # per pool: none starves another
                    per_pool[pool] = per_pool.get(pool, 0) + 1
                    window.append(workload_id)
            if not window:
                return
            pending = list(await session.scalars(select(Workload).where(Workload.id.in_(window))))
            busy = list(
                await session.scalars(
                    select(WorkloadTask).where(WorkloadTask.status.in_(_LIVE_TASK_STATES))
                )
            )
        decision = admit(
            [_waiting(w) for w in pending],
            _free_nodes(nodes, busy),
            now_ms=now_ms(),
            starvation_s=self.starvation_s,
        )
        if decision.admitted:
            await self._launch(decision.admitted)
        now = time.monotonic()
        if now - self._reasons_refreshed >= REASON_REFRESH_S:
            self._reasons_refreshed = now
            await self._note_waiting(decision.waiting)

    async def _launch(self, admitted: dict[str, list[str]]) -> None:
        """Mark the admitted workloads running and start their tasks, all in one go."""
        groups: dict[str, list[TaskSpec]] = {}
        async with self.db.session() as session, session.begin():
            rows = await session.scalars(select(Workload).where(Workload.id.in_(list(admitted))))
            for workload in list(rows):
                placement = admitted[workload.id]
                if await workload_service.switch_workload_status(
                    session,
                    workload,
                    WorkloadStatus.RUNNING,
                    f"scheduled on {', '.join(sorted(set(placement)))}",
                    only_if_desired="run",
                ):
                    groups[workload.id] = _task_rows(session, workload, placement)
        launching = {spec.task_id for specs in groups.values() for spec in specs}
        self._launching |= launching
        try:
            # Outside the transaction: the backend calls.
            results = await asyncio.gather(
                *(self.backend.start_group(specs) for specs in groups.values()),
                return_exceptions=True,
            )
            started_at = now_ms()
            async with self.db.session() as session, session.begin():
                for workload_id, result in zip(groups, results, strict=True):
                    if isinstance(result, BaseException):
                        if not isinstance(result, BackendError):
                            log.error("starting %s failed", workload_id, exc_info=result)
                        await _start_failed(session, workload_id, str(result))
                        continue
                    by_id = {handle.task_id: handle for handle in result}
                    tasks = await session.scalars(
                        select(WorkloadTask).where(
                            WorkloadTask.id.in_(list(by_id)), WorkloadTask.status == STARTING
                        )
                    )
                    for task in tasks:
                        task.handle = by_id[task.id].to_json()
                        task.status = TaskState.RUNNING.value
                        task.started_at = started_at
        finally:
            self._launching -= launching

    async def _note_waiting(self, reasons: dict[str, str]) -> None:
        """Show each waiting workload why it waits; an event when the cause changes."""
        if not reasons:
            return
        async with self.db.session() as session, session.begin():
            rows = await session.scalars(
                select(Workload).where(
                    Workload.id.in_(list(reasons)), Workload.status == WorkloadStatus.PENDING
                )
            )
            for workload in list(rows):
                reason = reasons[workload.id]
                if workload.reason == reason:
                    continue
                cause_changed = _cause(workload.reason) != _cause(reason)
                workload.reason = reason
                if cause_changed:
                    await record_event(
                        session,
                        project_id=workload.project_id,
                        resource_type=workload.kind,
                        resource_name=workload.resource_id,
                        resource_id=workload.id,
                        reason="Waiting",
                        message=reason,
                    )


def _task_rows(session: AsyncSession, workload: Workload, placement: list[str]) -> list[TaskSpec]:
    """Add the workload's task rows (status starting) and return what to start."""
    specs = []
    templates = workload_service.decode_tasks(workload.spec)
    for rank, (template, node) in enumerate(zip(templates, placement, strict=True)):
        task_id = f"{workload.id}-{rank}"
        session.add(
            WorkloadTask(
                id=task_id,
                workload_id=workload.id,
                rank=rank,
                status=STARTING,
                node=node,
                vcpus=template.vcpus,
                memory_bytes=template.memory_bytes,
                gpus=template.gpus,
            )
        )
        specs.append(
            TaskSpec(
                task_id=task_id,
                command=tuple(template.command),
                workdir=Path(template.workdir),
                env=template.env,
                resources=ResourceRequest(template.vcpus, template.memory_bytes, template.gpus),
                rank=rank,
            )
        )
    return specs


async def _settle(session: AsyncSession, workload_id: str) -> list[TaskHandle]:
    """Derive a workload's status from its tasks'; return the handles of tasks to stop
    (a failed gang member brings the rest down)."""
    workload = await session.get(Workload, workload_id)
    if workload is None or WorkloadStatus(workload.status).finished:
        return []
    tasks = list(
        await session.scalars(
            select(WorkloadTask)
            .where(WorkloadTask.workload_id == workload_id)
            .order_by(WorkloadTask.rank)
        )
    )
    live = [t for t in tasks if t.status in _LIVE_TASK_STATES]
    failed = [t for t in tasks if t.status in _TASK_FAILURES]
    if workload.status == WorkloadStatus.STOPPING:
        if not live:
            await workload_service.switch_workload_status(
                session, workload, WorkloadStatus.STOPPED, "stopped"
            )
        return []
    if failed:
        first = failed[0]
        reason = f"task {first.rank} failed: {first.reason or 'unknown reason'}"
    elif any(t.status == TaskState.STOPPED.value for t in tasks):
        reason = "a task was stopped from outside the platform"
    else:
        if not live:
            await workload_service.switch_workload_status(
                session, workload, WorkloadStatus.SUCCEEDED, "all tasks succeeded"
            )
        return []
    await workload_service.switch_workload_status(
        session, workload, WorkloadStatus.FAILED, reason, event_type=EventType.WARNING
    )
    return [h for h in (_handle_of(t) for t in live) if h is not None]


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


def _handle_of(task: WorkloadTask) -> TaskHandle | None:
    if task.handle is None:
        return None
    try:
        return TaskHandle.from_json(task.handle)
    except (BackendError, ValueError, KeyError):
        log.error("task %s has an unreadable handle", task.id)
        return None


def _cause(reason: str) -> str:
    """A waiting reason without the part that changes all the time (what is free)."""
    return reason.split(";", 1)[0]


def _waiting(workload: Workload) -> Waiting:
    tasks = tuple(
        Resources(t.vcpus, t.memory_bytes, t.gpus)
        for t in workload_service.decode_tasks(workload.spec)
    )
    return Waiting(workload.id, workload.pool, workload.priority, workload.queued_at, tasks)


def _free_nodes(nodes: list[NodeInfo], busy: list[WorkloadTask]) -> list[Node]:
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
        capacity = Resources(n.vcpus, n.memory_bytes, n.gpus)
        nodes_out.append(
            Node(
                n.name,
                n.labels.get("pool", ""),
                capacity - used.get(n.name, Resources()),
                capacity,
            )
        )
    return nodes_out
