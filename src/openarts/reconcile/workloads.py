"""The workload reconciler: admits waiting work, starts it, watches it, stops it.

User actions only record intent (a new Pending workload, ``desired = "stop"``); this loop
does the slow work. Backend calls never happen inside a database transaction: each step
reads what to do, commits, calls the backend, then records what happened, batching every
workload of the pass into one transaction (the reads and writes are in
``workload_rows``). ``run_once`` is one full pass, so tests can
step it; ``run_forever`` repeats it on an interval or as soon as ``wake()`` is called.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

from sqlalchemy.orm import Session

from openarts.backends.base import (
    BackendError,
    ComputeBackend,
    PrepareError,
    TaskHandle,
    TaskPreparer,
    TaskSpec,
    TaskState,
)
from openarts.db.engine import Database
from openarts.domain.capacity import SchedulableNode, Slice, schedulable_nodes
from openarts.domain.cpu_share import admission_capacity, fitted, largest_public_node
from openarts.domain.scheduling import Decision, Node, Resources, Waiting, admit
from openarts.faults import STARTED_NOT_RECORDED, crash_point
from openarts.ids import now_ms
from openarts.reconcile import workload_rows as rows
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.loop import SteppingReconciler
from openarts.reconcile.pools import PoolReconciler
from openarts.services.hosts import Hosts

log = logging.getLogger("openarts.reconcile")

# Waiting reasons mention the free capacity, which moves with every task; they are
# rewritten at most this often.
REASON_REFRESH_S = 2.0
# Live tasks of stopping or finished workloads are looked for this often (and at once
# after a stop request).
STOP_RECHECK_S = 2.0


class _Told(NamedTuple):
    """What waiting reasons were last written from."""

    reasons: frozenset[tuple[str, str]]
    busy: tuple[rows.BusyTask, ...]
    slices: tuple[Slice, ...]
    holders_moved: int


class WorkloadReconciler(SteppingReconciler):
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
        preparers: Mapping[str, TaskPreparer] | None = None,
        hosts: Hosts | None = None,
    ) -> None:
        super().__init__(interval_s=interval_s, leadership=leadership, log=log)
        self.db = db
        # Admission onto pool nodes and changes to pools take turns (pools.pool_change).
        self.change_lock = pools.change_lock if pools is not None else asyncio.Lock()
        # Dedicated pools are reconciled first in each pass: admission needs their nodes.
        self.pools = pools
        # The backend's nodes, read at every pass; requests read the latest reading.
        self.hosts = hosts if hosts is not None else Hosts(backend)
        self.backend = backend
        self.starvation_s = starvation_s
        self.stop_grace_s = stop_grace_s
        # Per workload kind, what readies its tasks before they start.
        self.preparers: dict[str, TaskPreparer] = dict(preparers or {})
        # Called after every pass (other loops that follow workloads' statuses).
        self.listeners: list[Callable[[], None]] = []
        self._reasons_refreshed = -REASON_REFRESH_S
        # What the last waiting reasons were written from, and how many times since then
        # tasks ended or were admitted (the holders a reason names may have changed).
        self._told: _Told | None = None
        self._holders_moved = 0
        # Tasks between admission and their handle being recorded: not "never started".
        self._launching: set[str] = set()
        # Per waiting workload: its needs (decoded once) and its stored spec, kept while
        # it waits, so neither admission nor launch reads or decodes them again.
        self._needs: dict[str, tuple[Resources, ...]] = {}
        self._specs: dict[str, str] = {}
        self._stops_checked = -STOP_RECHECK_S

    async def closed(self) -> None:
        # Stops and preparations in flight were cancelled with the loop: abandoned, not
        # lost (the next start issues the stops again; tasks never started are found lost).
        if self.leadership is not None:
            await self.leadership.release()

    async def run_once(self) -> None:
        await self.hosts.refresh()
        if self.pools is not None:
            await self.pools.run_once(self.hosts.latest)
        ended, touched = await self._observe()
        await self._admit(ended, touched)
        for listener in self.listeners:
            listener()

    # -- stop requests and observation ----------------------------------------------------
    async def _observe(self) -> tuple[list[dict[str, object]], list[str]]:
        """Act on stop requests, poll the live tasks; the endings to record, and the
        workloads they belong to."""
        # Live tasks of a stopping or finished workload must end: looked for at once
        # after a request, else every few seconds (a stop cut short is issued again).
        recheck = time.monotonic() - self._stops_checked >= STOP_RECHECK_S
        # Taken before the read: a launch that ends while the read runs has committed its
        # handle after the read's snapshot, so its task reads as unstarted, yet it was
        # launching when the pass began and is left alone.
        launching = set(self._launching)
        start = await self.db.run_in_transaction(rows.begin_pass, recheck_stops=recheck)
        if start.to_stop is not None:
            self._stops_checked = time.monotonic()
            for must_end in start.to_stop:
                self._stop_in_background(must_end)
        if not start.live:
            return [], []
        workload_of = {task.id: task.workload_id for task in start.live}
        handles = {t.id: rows.parse_handle(t.id, t.handle) for t in start.live if t.handle}
        unstarted = []
        adopted: list[TaskHandle] = []
        for task_id in [t.id for t in start.live if t.handle is None and t.id not in launching]:
            # Admitted, but the server stopped before recording a handle: a task that did
            # start is adopted (never run twice); anything else that may have started is
            # ended, and the task counts as lost.
            found = await self.backend.recover(task_id)
            if found is not None:
                adopted.append(found)
                handles[task_id] = found
            else:
                await self.backend.discard(task_id)
                unstarted.append(task_id)
        if adopted:
            await self.db.run_in_transaction(
                rows.record_starts, _started_rows(adopted, now_ms()), {}
            )
            log.info("adopted %d task(s) started before a restart", len(adopted))
        try:
            observed = await self.backend.poll([h for h in handles.values() if h is not None])
        except Exception:
            log.exception("polling tasks failed; trying again next pass")
            return [], []
        now = now_ms()
        ended = [
            rows.ended_row(task_id, TaskState.LOST.value, None, "never started", now)
            for task_id in unstarted
        ]
        for task_id, handle in handles.items():
            if handle is None:
                ended.append(
                    rows.ended_row(
                        task_id, TaskState.LOST.value, None, "its handle is unreadable", now
                    )
                )
                continue
            observation = observed.get(task_id)
            if observation is not None and observation.state.finished:
                ended.append(
                    rows.ended_row(
                        task_id,
                        observation.state.value,
                        observation.exit_code,
                        observation.reason or "",
                        now,
                    )
                )
        return ended, sorted({workload_of[str(e["b_id"])] for e in ended})

    def _stop_in_background(self, handle: TaskHandle) -> None:
        # One stop per task in flight; the loop is woken when it is done.
        key = f"stop:{handle.task_id}"
        if key not in self._steps.busy:
            self._steps.start(key, self._stop(handle))

    async def _stop(self, handle: TaskHandle) -> None:
        try:
            await self.backend.stop(handle, grace_s=self.stop_grace_s)
        except Exception:
            log.exception("stopping task %s failed; the next pass tries again", handle.task_id)

    # -- admission -----------------------------------------------------------------------
    async def _admit(self, ended: list[dict[str, object]], touched: list[str]) -> None:
        explain = time.monotonic() - self._reasons_refreshed >= REASON_REFRESH_S
        # Most passes only refill the few slots that tasks just freed: the head of the
        # line is read first, and the whole window only when the head leaves room, or
        # when every waiting workload is told why it waits.
        limit = rows.ADMISSION_WINDOW if explain else rows.ADMISSION_HEAD
        # The endings and what admission reads share one transaction: capacity the
        # endings free is seen at once.
        to_stop, view = await self.db.run_in_transaction(
            _end_then_look, ended, touched, frozenset(self._needs), limit
        )
        for handle in to_stop:
            self._stop_in_background(handle)
        decision, nodes, needs = await self._decide(view, limit, explain)
        if limit < rows.ADMISSION_WINDOW and _cut_short(view, limit, decision):
            limit = rows.ADMISSION_WINDOW
            view = await self.db.run_in_transaction(
                rows.read_admission, frozenset(self._needs), limit
            )
            decision, nodes, needs = await self._decide(view, limit, explain)
        if decision.admitted:
            await self._launch(decision.admitted, nodes, view.busy, needs)
        if decision.admitted or ended:
            self._holders_moved += 1
        if explain and view.window:
            self._reasons_refreshed = time.monotonic()
            # The reasons follow from what waits and what holds the capacity: while
            # neither changes (an idle queue, however long) there is nothing to rewrite.
            told = _Told(
                frozenset(decision.waiting.items()),
                tuple(sorted(view.busy)),
                tuple(sorted(view.slices, key=repr)),
                self._holders_moved,
            )
            if decision.waiting and told != self._told:
                await self.db.run_in_transaction(rows.note_waiting, decision.waiting)
            self._told = told._replace(holders_moved=0)
            self._holders_moved = 0

    async def _decide(
        self, view: rows.AdmissionView, limit: int, explain: bool
    ) -> tuple[Decision, list[SchedulableNode], dict[str, tuple[Resources, ...]]]:
        """Who starts now; the nodes; what each waiting workload's tasks are admitted
        with (capped where the public pool shares its host's CPUs)."""
        if limit >= rows.ADMISSION_WINDOW:
            # Needs and specs are kept while a workload waits in the window.
            ids = {w[0] for w in view.window}
            self._needs = {i: n for i, n in self._needs.items() if i in ids}
            self._specs = {i: spec for i, spec in self._specs.items() if i in ids}
        if not view.window:
            return Decision(), [], {}
        unreadable: list[str] = []
        for workload_id, spec in view.new_specs.items():
            try:
                self._needs[workload_id] = rows.needs_of(spec)
                self._specs[workload_id] = spec
            except (ValueError, TypeError, KeyError):
                unreadable.append(workload_id)
        if unreadable:
            await self.db.run_in_transaction(rows.fail_unreadable, unreadable)
        nodes = schedulable_nodes(self.hosts.latest, view.slices)
        largest = largest_public_node(nodes)
        pending = [
            Waiting(
                workload_id,
                pool,
                priority,
                queued_at,
                fitted(pool, self._needs[workload_id], largest),
            )
            for workload_id, pool, priority, queued_at in view.window
            if workload_id in self._needs
        ]
        decision = admit(
            pending,
            _free_nodes(nodes, view.busy),
            now_ms=now_ms(),
            starvation_s=self.starvation_s,
            pool_names=view.pool_names,
            explain=explain,
            spread=self.backend.spreads_gangs,
        )
        return decision, nodes, {w.workload_id: w.tasks for w in pending}

    async def _launch(
        self,
        admitted: dict[str, list[str]],
        nodes: list[SchedulableNode],
        busy: list[rows.BusyTask],
        needs: dict[str, tuple[Resources, ...]],
    ) -> None:
        """Mark the admitted workloads running and start their tasks, all in one go."""
        host_names = {host.name for host in self.hosts.latest}
        pool_nodes = {n for p in admitted.values() for n in p if n not in host_names}
        # Admission and changes to pools take turns (pools.pool_change); only work that
        # lands on pool nodes needs the lock across server processes too.
        async with self.change_lock:
            claimed = await self.db.run_in_transaction(
                rows.claim_admitted,
                admitted,
                {workload_id: self._specs[workload_id] for workload_id in admitted},
                {workload_id: needs[workload_id] for workload_id in admitted},
                nodes,
                busy,
                pool_nodes=pool_nodes,
                lock_capacity=bool(pool_nodes),
                is_sqlite=self.db.is_sqlite,
            )
        groups: dict[str, list[TaskSpec]] = {}
        for workload_id, specs in claimed.groups.items():
            self._launching |= {spec.task_id for spec in specs}
            preparer = self.preparers.get(claimed.kinds[workload_id])
            if preparer is None:
                groups[workload_id] = specs
            else:
                # Preparing may take long (downloads): it runs beside the passes.
                self._steps.start(
                    f"prepare:{workload_id}", self._prepare_and_start(workload_id, specs, preparer)
                )
        if groups:
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
                        failed[workload_id] = _start_failure(workload_id, result)
                        continue
                    started += _started_rows(result, started_at)
                crash_point(STARTED_NOT_RECORDED)
                await self.db.run_in_transaction(rows.record_starts, started, failed)
            finally:
                for specs in groups.values():
                    self._launching -= {spec.task_id for spec in specs}

    async def _prepare_and_start(
        self, workload_id: str, specs: list[TaskSpec], preparer: TaskPreparer
    ) -> None:
        try:
            started: list[dict[str, object]] = []
            failed: dict[str, str] = {}
            try:
                ready = await preparer.prepare(workload_id, specs)
                started = _started_rows(await self.backend.start_group(ready), now_ms())
            except Exception as error:
                failed[workload_id] = _start_failure(workload_id, error)
            crash_point(STARTED_NOT_RECORDED)
            await self.db.run_in_transaction(rows.record_starts, started, failed)
        finally:
            self._launching -= {spec.task_id for spec in specs}


def _start_failure(workload_id: str, error: BaseException) -> str:
    if not isinstance(error, BackendError | PrepareError):
        log.error("starting %s failed", workload_id, exc_info=error)
    return str(error)


def _started_rows(handles: list[TaskHandle], started_at: int) -> list[dict[str, object]]:
    return [
        {"b_id": h.task_id, "b_handle": h.to_json(), "b_started_at": started_at} for h in handles
    ]


def _end_then_look(
    session: Session,
    ended: list[dict[str, object]],
    touched: list[str],
    known: frozenset[str],
    limit: int,
) -> tuple[list[TaskHandle], rows.AdmissionView]:
    return (
        rows.record_endings(session, ended, touched),
        rows.read_admission(session, known, limit),
    )


def _cut_short(view: rows.AdmissionView, limit: int, decision: Decision) -> bool:
    """Whether a pool's line was cut at ``limit`` while the pool still has room: more
    of its line might start."""
    per_pool: dict[str, int] = {}
    for _, pool, _, _ in view.window:
        per_pool[pool] = per_pool.get(pool, 0) + 1
    return any(count >= limit and pool in decision.room_left for pool, count in per_pool.items())


def _free_nodes(nodes: list[SchedulableNode], busy: list[rows.BusyTask]) -> list[Node]:
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
        capacity = admission_capacity(n)
        nodes_out.append(Node(n.name, n.pool, capacity - used.get(n.name, Resources()), capacity))
    return nodes_out
