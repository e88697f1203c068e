"""The training reconciler: moves each job through its phases as its workload moves.

Creating: the engine's environment is made (once per engine), then the job is queued.
Pending -> Running when its workload starts. When the workload ends, outputs and logs are
uploaded first, then the job ends: Completed, Failed (or queued again when its retry
annotations allow), or Terminated. Slow steps (environments, uploads) run beside the
passes; a restart simply does them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.orm import Session

from openarts.backends.base import TaskHandle, TaskState
from openarts.db.engine import Database
from openarts.db.lookups import not_for_lookup
from openarts.db.tables import TrainingJob, TrainingSample, Workload, WorkloadTask
from openarts.domain.engines import Engine
from openarts.domain.events import EventType
from openarts.domain.training import WORKLOAD_KIND, JobPhase, SecondaryPhase, retries_allowed
from openarts.domain.training_plan import Plan, job_environment, task_name
from openarts.domain.workloads import WorkloadStatus
from openarts.ids import now_ms
from openarts.reconcile.folders import subfolders
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.loop import SteppingReconciler
from openarts.runtime.engine_envs import EngineBuildError, EngineEnvironments
from openarts.runtime.stacked_envs import make_environment
from openarts.runtime.training_staging import TrainingStaging, job_ref
from openarts.services import training_jobs as job_service
from openarts.services import workloads as workload_service
from openarts.services.training_logs import TrainingLogs

log = logging.getLogger("openarts.reconcile.training")

# Phases in which a wish to terminate is still to be acted on.
_WISH_PENDING = [JobPhase.CREATING.value, JobPhase.PENDING.value, JobPhase.RUNNING.value]
_FAILED_TASK = (TaskState.FAILED.value, TaskState.LOST.value)
# Attempts cut short by a server stop before their tasks started are prepared again this
# many times beyond the retries the annotations allow.
RESTAGE_LIMIT = 3
# A pass reads at most this many rows of each kind of news (jobs being created, jobs
# asked to terminate, workloads that moved), so its cost stays the same however many jobs
# wait or have ended; a full page that moved things on brings the next pass at once.
PASS_ROWS = 128
# Slow steps in flight at once, per kind (engine preparations; conclusions).
MAX_PREPARING = 32
MAX_CONCLUDING = 32
# Deleted jobs' folders are looked for this often.
GARBAGE_INTERVAL_S = 60.0


class ActiveJob(NamedTuple):
    id: str
    phase: str
    desired: str
    workload_id: str | None
    workload_status: str | None


class News(NamedTuple):
    """What a pass must look at: jobs being created, jobs asked to terminate, and jobs
    whose workload moved (read through indexes, a bounded number of each)."""

    jobs: list[ActiveJob]
    # The last unnoticed workload read, when its page was full (the next pass goes on
    # from there); None when every one was read.
    next_after: str | None
    # Rows settled in the reading transaction (their moves asked nothing of the job).
    settled: int
    full: bool


class TrainingReconciler(SteppingReconciler):
    def __init__(
        self,
        db: Database,
        training: job_service.TrainingPlatform,
        staging: TrainingStaging,
        engine_envs: EngineEnvironments,
        logs: TrainingLogs,
        *,
        interval_s: float = 2.0,
        sample_interval_s: float = 10.0,
        leadership: Leadership | None = None,
    ) -> None:
        self.db = db
        self.training = training
        self.staging = staging
        self.engine_envs = engine_envs
        self.logs = logs
        super().__init__(interval_s=interval_s, leadership=leadership, log=log)
        self.sample_interval_s = sample_interval_s
        self._sampled_at = -sample_interval_s
        self._collected_at = time.monotonic()
        # Slow steps in flight, by kind: each kind has its own cap, so jobs waiting for
        # an engine build never hold up the ending of others.
        self._preparing: set[str] = set()
        self._concluding: set[str] = set()
        # Where the reading of unnoticed workloads goes on from (see News).
        self._after = ""

    async def run_once(self) -> None:
        news = await self.db.run_in_transaction(
            _news,
            preparing=sorted(self._preparing),
            concluding=sorted(self._concluding),
            prepare_room=MAX_PREPARING - len(self._preparing),
            after=self._after,
            limit=PASS_ROWS,
        )
        self._after = news.next_after or ""
        progressed = news.settled > 0
        for job in news.jobs:
            progressed = await self._step(job) or progressed
        if news.full and progressed:
            # More is waiting and this pass moved things on: the next pass at once.
            self.wake()
        if time.monotonic() - self._sampled_at >= self.sample_interval_s:
            self._sampled_at = time.monotonic()
            await self.sample()
        if time.monotonic() - self._collected_at >= GARBAGE_INTERVAL_S:
            self._collected_at = time.monotonic()
            await self.collect_garbage()

    async def sample(self) -> None:
        """Record what each running training task uses now (the metrics API's source)."""
        live = await self.db.run_in_transaction(_live_tasks)
        if not live:
            return
        try:
            samples = await self.staging.backend.sample([handle for _, _, handle in live])
        except Exception:
            log.exception("sampling training tasks failed; trying again later")
            return
        rows: list[dict[str, object]] = [
            {
                "job_id": job_id,
                "task": task_name(rank),
                "cpu_percent": samples[handle.task_id].cpu_percent,
                "memory_bytes": samples[handle.task_id].memory_bytes,
                "gpu_memory_bytes": samples[handle.task_id].gpu_memory_bytes,
                "gpu_percent": samples[handle.task_id].gpu_percent,
            }
            for job_id, rank, handle in live
            if handle.task_id in samples
        ]
        if rows:
            await self.db.run_in_transaction(_store_samples, rows, now_ms())

    async def _step(self, job: ActiveJob) -> bool:
        """Do what ``job`` needs next; False when it must wait for a slow step."""
        phase = JobPhase(job.phase)
        status = WorkloadStatus(job.workload_status) if job.workload_status else None
        if job.id in self._preparing:
            # Only a wish to terminate a job still being created cannot wait for the
            # slow step (an engine build may take many minutes).
            if job.desired != "terminate":
                return False
            await self.db.run_in_transaction(_finish_unstarted, job.id)
        elif job.id in self._concluding:
            return False
        elif phase is JobPhase.CREATING:
            if job.desired == "terminate":
                await self.db.run_in_transaction(_finish_unstarted, job.id)
            elif len(self._preparing) < MAX_PREPARING:
                self._start(self._preparing, job.id, self._prepare_engine(job.id))
            else:
                return False
        elif status is not None and status.finished and job.workload_id is not None:
            if len(self._concluding) >= MAX_CONCLUDING:
                return False
            self._start(self._concluding, job.id, self._conclude(job.id, job.workload_id))
        elif job.desired == "terminate" and phase is not JobPhase.TERMINATING:
            await self.db.run_in_transaction(_begin_terminating, job.id)
        elif phase is JobPhase.PENDING and status is WorkloadStatus.RUNNING:
            return await self.db.run_in_transaction(_mark_running, job.id)
        return True

    def _start(self, kind: set[str], job_id: str, work: Coroutine[Any, Any, None]) -> None:
        kind.add(job_id)

        async def tracked() -> None:
            try:
                await work
            finally:
                kind.discard(job_id)

        self._steps.start(job_id, tracked())

    async def _prepare_engine(self, job_id: str) -> None:
        plan = await self.db.run_in_transaction(_plan_of, job_id)
        if plan is None:
            return
        if plan.image_layers:
            await self._prepare_image(job_id, plan)
            return
        engine = job_service.engine_of(self.training, plan)
        if engine is None:
            why = f"engine {plan.engine_id} is no longer in the engine catalog"
            await self.db.run_in_transaction(_creation_failed, job_id, why)
            return

        async def progress(message: str) -> None:
            await self.db.run_in_transaction(_note, job_id, "EnginePreparing", message)

        try:
            interpreter = await self.engine_envs.ensure(engine, progress)
        except EngineBuildError as error:
            why = f"engine {engine.id} could not be prepared: {error}"
            await self.db.run_in_transaction(_creation_failed, job_id, why)
            return
        missing = await asyncio.to_thread(self.engine_envs.missing, engine)
        await self.db.run_in_transaction(
            _queue, job_id, interpreter, self.training, engine, missing
        )

    async def _prepare_image(self, job_id: str, plan: Plan) -> None:
        """A job from a saved image runs in an environment of its own over the image's
        layers (what is pip-installed by the job stays out of the image)."""
        missing = await asyncio.to_thread(_missing_folders, plan.image_layers)
        if missing:
            why = f"image {plan.image_url}: its packages are gone ({missing[0]} is missing)"
            await self.db.run_in_transaction(_creation_failed, job_id, why)
            return
        target = job_environment(self.training.root, job_id)
        interpreter = await asyncio.to_thread(make_environment, target, plan.image_layers)
        await self.db.run_in_transaction(_queue, job_id, str(interpreter), self.training)

    async def _conclude(self, job_id: str, workload_id: str) -> None:
        """Outputs and logs up, then the job's end (or its next attempt)."""
        found = await self.db.run_in_transaction(_ending, job_id, workload_id)
        if found is None:
            return
        job, handles, failed_rank = found
        ref = job_ref(job)
        await self.staging.collect(ref, handles)
        tail = ""
        if failed_rank is not None and failed_rank in handles:
            tail = await self.staging.log_tail(handles[failed_rank])
        interpreter = job_service.interpreter_of(self.training, job_id, ref.plan)
        await self.db.run_in_transaction(
            _end_attempt, job_id, workload_id, tail, interpreter, self.training
        )
        # The outputs are up and the attempt is recorded: its copies of code and data
        # are of no more use (only now: a pass cut short before here uploads again).
        await asyncio.to_thread(self.staging.remove_attempt, job.id, job.attempt)

    async def collect_garbage(self) -> None:
        """Remove the folders of jobs that were deleted, once nothing of theirs runs."""
        root = self.training.root
        names = await asyncio.to_thread(subfolders, root)
        if not names:
            return
        names.sort()
        for start in range(0, len(names), PASS_ROWS):
            # A bounded number at a time: each transaction stays short however many
            # jobs have folders.
            chunk = names[start : start + PASS_ROWS]
            keep = await self.db.run_in_transaction(_in_use, chunk)
            for name in sorted(set(chunk) - keep):
                await asyncio.to_thread(shutil.rmtree, root / name, True)
                await self.logs.forget_copies(name)


# -- what each step reads and writes (plain functions of one transaction) --------------------
def _news(
    session: Session,
    *,
    preparing: list[str],
    concluding: list[str],
    prepare_room: int,
    after: str,
    limit: int,
) -> News:
    jobs: dict[str, ActiveJob] = {}
    full = False
    if prepare_room > 0:
        created = session.execute(
            select(TrainingJob.id, TrainingJob.phase, TrainingJob.desired)
            .where(TrainingJob.phase == JobPhase.CREATING.value, TrainingJob.id.not_in(preparing))
            .limit(min(prepare_room, limit))
        ).all()
        full = len(created) == min(prepare_room, limit)
        for job_id, phase, desired in created:
            jobs[job_id] = ActiveJob(job_id, phase, desired, None, None)
    wished = session.execute(
        select(TrainingJob.id, TrainingJob.phase, TrainingJob.desired, Workload.id, Workload.status)
        .outerjoin(Workload, Workload.id == TrainingJob.workload_id)
        .where(
            TrainingJob.desired == "terminate",
            TrainingJob.phase.in_(_WISH_PENDING),
            TrainingJob.id.not_in(concluding),
        )
        .limit(limit)
    ).all()
    full = full or len(wished) == limit
    for row in wished:
        jobs[row[0]] = ActiveJob(*row)
    moved = session.execute(
        select(
            Workload.id,
            Workload.status,
            TrainingJob.id,
            TrainingJob.phase,
            TrainingJob.desired,
            TrainingJob.workload_id,
        )
        .outerjoin(TrainingJob, TrainingJob.id == Workload.resource_id)
        .where(
            Workload.kind == WORKLOAD_KIND,
            Workload.noticed.is_(False),
            Workload.id > after,
            Workload.resource_id.not_in(concluding),
        )
        .order_by(Workload.id)
        .limit(limit)
    ).all()
    settled: dict[str, list[str]] = {}
    for workload_id, status, job_id, phase, desired, current in moved:
        if job_id is None or current != workload_id or _asks_nothing(phase, status):
            settled.setdefault(status, []).append(workload_id)
        elif job_id not in jobs:
            jobs[job_id] = ActiveJob(job_id, phase, desired, workload_id, status)
    for status, ids in settled.items():
        _notice(session, status, *ids)
    page_full = len(moved) == limit
    return News(
        list(jobs.values()),
        moved[-1][0] if page_full else None,
        sum(map(len, settled.values())),
        full or page_full,
    )


def _asks_nothing(phase: str, status: str) -> bool:
    """Whether a workload's move to ``status`` asks nothing of its job in ``phase``: the
    job has ended, or the workload is on its way to an end the job already expects."""
    if JobPhase(phase).finished:
        return True
    if WorkloadStatus(status).finished:
        return False
    return not (status == WorkloadStatus.RUNNING and phase == JobPhase.PENDING)


def _notice(session: Session, status: str | None, *workload_ids: str) -> None:
    """The owner has acted on these workloads' ``status`` (None: whatever it is). Compare
    and set: a move committed since it was read stays news."""
    conditions: list[ColumnElement[bool]] = [Workload.id.in_(workload_ids)]
    if status is not None:
        conditions.append(not_for_lookup(Workload.status) == status)
    session.execute(
        update(Workload).where(*conditions).values(noticed=True),
        execution_options={"synchronize_session": False},
    )


def _live_tasks(session: Session) -> list[tuple[str, int, TaskHandle]]:
    rows = session.execute(
        select(TrainingJob.id, WorkloadTask.rank, WorkloadTask.handle)
        .join(WorkloadTask, WorkloadTask.workload_id == TrainingJob.workload_id)
        .where(
            TrainingJob.phase == JobPhase.RUNNING.value,
            WorkloadTask.status == TaskState.RUNNING.value,
            WorkloadTask.handle.is_not(None),
        )
    )
    live = []
    for job_id, rank, text in rows:
        with contextlib.suppress(Exception):
            live.append((job_id, rank, TaskHandle.from_json(str(text))))
    return live


def _store_samples(session: Session, rows: list[dict[str, object]], now: int) -> None:
    existing = set(
        session.scalars(
            select(TrainingJob.id).where(TrainingJob.id.in_({r["job_id"] for r in rows}))
        )
    )
    # A job deleted since the tasks were read takes its samples with it.
    kept = [{**row, "taken_at": now} for row in rows if row["job_id"] in existing]
    if kept:
        session.execute(insert(TrainingSample), kept)


def _missing_folders(paths: list[str]) -> list[str]:
    return [path for path in paths if not Path(path).is_dir()]


def _in_use(session: Session, names: list[str]) -> set[str]:
    """Those of ``names`` that are jobs, or have a workload not yet ended."""
    jobs = set(session.scalars(select(TrainingJob.id).where(TrainingJob.id.in_(names))))
    running = set(
        session.scalars(
            select(Workload.resource_id).where(
                Workload.kind == WORKLOAD_KIND,
                Workload.resource_id.in_(names),
                not_for_lookup(Workload.status).in_(
                    [s.value for s in WorkloadStatus if not s.finished]
                ),
            )
        )
    )
    return jobs | running


def _job(session: Session, job_id: str) -> TrainingJob | None:
    return session.get(TrainingJob, job_id)


def _plan_of(session: Session, job_id: str) -> Plan | None:
    job = _job(session, job_id)
    return Plan.model_validate_json(job.plan) if job is not None else None


def _note(session: Session, job_id: str, reason: str, message: str) -> None:
    job = _job(session, job_id)
    if job is not None:
        job.reason = message
        job_service.record_job_event(session, job, reason, message)


def _creation_failed(session: Session, job_id: str, why: str) -> None:
    job = _job(session, job_id)
    if job is not None and job.phase == JobPhase.CREATING:
        job_service.switch_job_phase(
            session,
            job,
            JobPhase.FAILED,
            why,
            secondary=SecondaryPhase.CREATE_FAILED,
            event_type=EventType.WARNING,
        )


def _queue(
    session: Session,
    job_id: str,
    interpreter: str,
    training: job_service.TrainingPlatform,
    engine: Engine | None = None,
    missing: dict[str, str] | None = None,
) -> None:
    job = _job(session, job_id)
    if job is not None and job.phase == JobPhase.CREATING and job.desired == "run":
        if engine is not None and missing:
            job_service.record_missing_extras(session, job, engine, missing)
        plan = Plan.model_validate_json(job.plan)
        job_service.submit_attempt(session, job, plan, interpreter, training)


def _finish_unstarted(session: Session, job_id: str) -> None:
    job = _job(session, job_id)
    if job is not None and job.phase == JobPhase.CREATING:
        job_service.switch_job_phase(session, job, JobPhase.TERMINATED, "terminated before it ran")


def _begin_terminating(session: Session, job_id: str) -> None:
    job = _job(session, job_id)
    if job is None or job.desired != "terminate":
        return
    if JobPhase(job.phase).finished or job.phase == JobPhase.TERMINATING:
        return  # concluded, or already on its way, since the pass read it
    if job.workload_id is not None:
        workload_service.request_stop_sync(session, job.workload_id)
    job_service.switch_job_phase(session, job, JobPhase.TERMINATING, "terminate requested")


def _mark_running(session: Session, job_id: str) -> bool:
    """Running once every task's process has started (admitted is not yet running: the
    data is still coming in). True if the job moved on or needs nothing more."""
    job = _job(session, job_id)
    if job is None or job.workload_id is None:
        return True
    if job.phase != JobPhase.PENDING:
        _notice(session, WorkloadStatus.RUNNING.value, job.workload_id)
        return True
    tasks = _tasks_of(session, job.workload_id)
    if tasks and all(t.status == TaskState.RUNNING.value for t in tasks):
        job_service.switch_job_phase(session, job, JobPhase.RUNNING, "running")
        _notice(session, WorkloadStatus.RUNNING.value, job.workload_id)
        return True
    return False


def _tasks_of(session: Session, workload_id: str) -> list[WorkloadTask]:
    return list(
        session.scalars(
            select(WorkloadTask)
            .where(WorkloadTask.workload_id == workload_id)
            .order_by(WorkloadTask.rank)
        )
    )


def _ending(
    session: Session, job_id: str, workload_id: str
) -> tuple[TrainingJob, dict[int, TaskHandle], int | None] | None:
    job = _job(session, job_id)
    if job is None or job.workload_id != workload_id or JobPhase(job.phase).finished:
        _notice(session, None, workload_id)  # nothing left to conclude (it has ended)
        return None
    handles: dict[int, TaskHandle] = {}
    failed_rank = None
    for task in _tasks_of(session, job.workload_id):
        if task.handle:
            with contextlib.suppress(Exception):
                handles[task.rank] = TaskHandle.from_json(task.handle)
        if failed_rank is None and task.status in (TaskState.FAILED.value, TaskState.LOST.value):
            failed_rank = task.rank
    session.expunge(job)
    return job, handles, failed_rank


def _end_attempt(
    session: Session,
    job_id: str,
    workload_id: str,
    tail: str,
    interpreter: str | None,
    training: job_service.TrainingPlatform,
) -> None:
    # Concluded (or nothing left to conclude) once this commits; a pass cut short before
    # here leaves the workload unnoticed, and the next pass concludes it again.
    _notice(session, None, workload_id)
    job = _job(session, job_id)
    if job is None or job.workload_id != workload_id or JobPhase(job.phase).finished:
        return
    workload = session.get(Workload, workload_id)
    if workload is None or not WorkloadStatus(workload.status).finished:
        return
    tasks = _tasks_of(session, workload.id)
    job.task_statuses = json.dumps(
        [
            {"task": task_name(t.rank), "exit_code": t.exit_code, "message": t.reason or t.status}
            for t in tasks
        ]
    )
    job.log_tail = tail
    status = WorkloadStatus(workload.status)
    if job.desired == "terminate" or status is WorkloadStatus.STOPPED:
        if job.phase != JobPhase.TERMINATING:
            job_service.switch_job_phase(session, job, JobPhase.TERMINATING, "terminate requested")
        job_service.switch_job_phase(session, job, JobPhase.TERMINATED, "terminated")
        return
    if status is WorkloadStatus.SUCCEEDED:
        _to(session, job, JobPhase.COMPLETED, "all tasks completed")
        return
    retries, unconditional = retries_allowed(json.loads(job.annotations))
    by_code = any(t.exit_code not in (None, 0) for t in tasks)
    failed = next((t for t in tasks if t.status in _FAILED_TASK), None)
    reason = (
        f"{task_name(failed.rank)} failed: {failed.reason or 'unknown reason'}"
        if failed is not None
        else workload.reason or "failed"
    )
    ran = any(t.started_at is not None for t in tasks)
    # Tasks lost before they started: the server stopped while it prepared them.
    cut_short = not ran and any(t.status == TaskState.LOST.value for t in tasks)
    may_retry = job.attempt < retries and (unconditional or not by_code)
    may_restage = cut_short and job.attempt < retries + RESTAGE_LIMIT
    plan = Plan.model_validate_json(job.plan)
    runnable = interpreter is not None or job_service.runs_in_image(plan)
    if (may_retry or may_restage) and runnable:
        message = (
            f"attempt {job.attempt + 1} failed ({reason}); running it again: retry "
            f"{job.attempt + 1} of {retries}"
            if may_retry
            else f"attempt {job.attempt + 1} was cut short before it started ({reason}); "
            "preparing it again"
        )
        job_service.record_job_event(session, job, "Retry", message, EventType.WARNING)
        if job.phase == JobPhase.PENDING and ran:
            # Its code did run: the record shows it, then it queues again.
            job_service.switch_job_phase(session, job, JobPhase.RUNNING, "running")
        job.attempt += 1
        job_service.submit_attempt(session, job, plan, interpreter, training)
        return
    _to(session, job, JobPhase.FAILED, reason, EventType.WARNING, ran=ran)


def _to(
    session: Session,
    job: TrainingJob,
    to: JobPhase,
    reason: str,
    event_type: EventType = EventType.NORMAL,
    *,
    ran: bool = True,
) -> None:
    # A job whose code ran and ended before a pass saw it start goes through Running
    # first; one whose code never started does not.
    if job.phase == JobPhase.PENDING and (ran or to is not JobPhase.FAILED):
        job_service.switch_job_phase(session, job, JobPhase.RUNNING, "running")
    job_service.switch_job_phase(session, job, to, reason, event_type=event_type)
