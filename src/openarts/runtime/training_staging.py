"""Training data in and out: code and inputs from object storage before a job's tasks
start, outputs and logs back after they end. The server does the transfers (through its
own store), so tasks never hold storage credentials. Each step is an event with its size
and duration."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from openarts.backends.base import (
    ComputeBackend,
    PrepareError,
    TaskHandle,
    TaskSpec,
    read_tail,
)
from openarts.db.engine import Database
from openarts.db.tables import Bucket, TrainingJob, Workload
from openarts.domain.events import EventType
from openarts.domain.training import LOG_TAIL_LINES, WORKLOAD_KIND
from openarts.domain.training_plan import (
    Plan,
    TaskDirs,
    placement_environment,
    task_dirs,
    task_name,
    vj_name,
)
from openarts.runtime.engine_envs import EngineBuildError
from openarts.runtime.image_pulls import pull_image
from openarts.runtime.job_requirements import RequirementLayers, requirements_in
from openarts.services.events import record_event_sync
from openarts.services.training_logs import log_chunks
from openarts.storage.base import ObjectStore, StorageError
from openarts.storage.paths import ObjectPath
from openarts.storage.transfer import TransferSummary, download_dir, upload_dir

LOG_TAIL_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class JobRef:
    id: str
    project_id: str
    name: str
    attempt: int
    plan: Plan


class TrainingStaging:
    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        backend: ComputeBackend,
        root: Path,
        requirements: RequirementLayers | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.backend = backend
        self.root = root
        # Where a code folder's pip-requirements.txt is installed (none: not looked for).
        self.requirements = requirements

    # -- before: the preparer of "train" workloads -------------------------------------------
    async def prepare(self, workload_id: str, specs: list[TaskSpec]) -> list[TaskSpec]:
        job = await self.db.run_in_transaction(_job_of_workload, workload_id)
        if job is None:
            raise PrepareError("its training job no longer exists")
        foreign = await self.db.run_in_transaction(_foreign_buckets, job)
        if foreign:
            # Deleted, and made again by someone else, since the job was accepted.
            raise PrepareError(
                f"bucket(s) {', '.join(foreign)} no longer belong to this job's project"
            )
        ordered = sorted(specs, key=lambda s: s.rank or 0)
        hosts = [self.backend.address_of(spec.node) for spec in ordered]
        port = await self.backend.free_port(ordered[0].node)
        image = ordered[0].view.image if ordered[0].view is not None else ""
        if image:
            await self._pull(job, image, {spec.node for spec in ordered})
        ready = []
        interpreter: str | None = None
        for spec in ordered:
            rank = spec.rank or 0
            dirs = task_dirs(self.root, job.id, job.attempt, rank)
            await asyncio.to_thread(_fresh, dirs, job.plan)
            await self._download(job, dirs, rank, workload_id)
            # An image's job runs the image's Python as it is (no layer over it).
            if rank == 0 and job.plan.code_dir is not None and not image:
                interpreter = await self._requirements(job, dirs.code(job.plan), spec)
            env = {**spec.env, **placement_environment(hosts, rank, port)}
            placed = dataclasses.replace(spec, env=env)
            ready.append(_with_interpreter(placed, interpreter) if interpreter else placed)
        await self._still_wanted(workload_id)
        return ready

    async def _pull(self, job: JobRef, image: str, nodes: set[str]) -> None:
        """The job's image on each node that runs its tasks."""

        async def say(reason: str, message: str) -> None:
            await self._event(job, reason, message)

        for node in sorted(nodes):
            await pull_image(self.backend, image, node, say)

    async def _requirements(self, job: JobRef, code: Path, spec: TaskSpec) -> str | None:
        """The Python with the code folder's pip-requirements.txt installed over the
        engine's, or None where there is none to install."""
        if self.requirements is None:
            return None
        try:
            found = await asyncio.to_thread(requirements_in, code)
        except (EngineBuildError, OSError) as error:
            raise PrepareError(str(error)) from None
        if found is None:
            return None
        name, text = found

        async def progress(message: str) -> None:
            await self._event(job, "InstallingRequirements", message)

        started = time.monotonic()
        try:
            python = await self.requirements.ensure(_interpreter_of(spec), name, text, progress)
        except EngineBuildError as error:
            await self._event(job, "RequirementsFailed", f"{name}: {error}", EventType.WARNING)
            raise PrepareError(f"{name} could not be installed: {error}") from None
        await self._event(job, "RequirementsReady", f"{name}: ready in {_ms(started)} ms")
        return python

    async def _still_wanted(self, workload_id: str) -> None:
        """A job terminated or deleted while its data came in must not start its code."""
        if not await self.db.run_in_transaction(_wanted, workload_id):
            raise PrepareError("stopped before it started")

    async def _download(self, job: JobRef, dirs: TaskDirs, rank: int, workload_id: str) -> None:
        plan = job.plan
        await self._still_wanted(workload_id)
        if plan.code_dir is not None:
            summary = await self._transfer_in(job, rank, "code", plan.code_dir, dirs.code(plan))
            if summary.files == 0:
                raise PrepareError(f"code_dir {plan.code_dir} is empty or does not exist")
            if plan.boot_file and not (dirs.code(plan) / plan.boot_file).is_file():
                raise PrepareError(f"boot_file {plan.boot_file} is not in code_dir {plan.code_dir}")
        for channel in plan.inputs:
            await self._still_wanted(workload_id)
            summary = await self._transfer_in(
                job, rank, f"input {channel.name}", channel.obs_url, dirs.input(channel.name)
            )
            if summary.files == 0:
                raise PrepareError(f"input {channel.name}: {channel.obs_url} does not exist")

    async def _transfer_in(
        self, job: JobRef, rank: int, what: str, url: str, target: Path
    ) -> TransferSummary:
        started = time.monotonic()
        try:
            summary = await download_dir(self.store, ObjectPath.parse(url), target)
        except StorageError as error:
            raise PrepareError(f"{what}: {url} could not be read: {error}") from None
        await self._event(
            job,
            "Downloaded",
            f"{task_name(rank)}: {what} from {url}: {_size(summary)} in {_ms(started)} ms",
        )
        return summary

    # -- after: outputs and logs ---------------------------------------------------------------
    async def collect(self, job: JobRef, handles: dict[int, TaskHandle]) -> None:
        """Upload every task's outputs, and its whole log when log_export_path is set."""
        plan = job.plan
        foreign = await self.db.run_in_transaction(_foreign_buckets, job)
        if foreign:
            await self._event(
                job,
                "UploadFailed",
                f"nothing uploaded: bucket(s) {', '.join(foreign)} no longer belong to this "
                "job's project",
                EventType.WARNING,
            )
            return
        for rank in range(plan.node_count):
            dirs = task_dirs(self.root, job.id, job.attempt, rank)
            for channel in plan.outputs:
                local = dirs.output(channel.name)
                if not local.is_dir():
                    continue  # the task never started: nothing was written
                started = time.monotonic()
                try:
                    summary = await upload_dir(self.store, local, ObjectPath.parse(channel.obs_url))
                except (StorageError, OSError) as error:
                    await self._event(
                        job,
                        "UploadFailed",
                        f"{task_name(rank)}: output {channel.name} to {channel.obs_url}: {error}",
                        EventType.WARNING,
                    )
                    continue
                await self._event(
                    job,
                    "Uploaded",
                    f"{task_name(rank)}: output {channel.name} to {channel.obs_url}: "
                    f"{_size(summary)} in {_ms(started)} ms",
                )
            handle = handles.get(rank)
            if plan.log_export_path and handle is not None:
                await self._export_log(job, rank, handle, plan.log_export_path)

    async def _export_log(self, job: JobRef, rank: int, handle: TaskHandle, url: str) -> None:
        target = ObjectPath.parse(url).child(f"{vj_name(job.id)}-{task_name(rank)}.log")
        started = time.monotonic()
        try:
            info = await self.store.write(
                target.bucket, target.key, log_chunks(self.backend, handle)
            )
        except (StorageError, OSError) as error:
            await self._event(
                job,
                "UploadFailed",
                f"{task_name(rank)}: log to {target}: {error}",
                EventType.WARNING,
            )
            return
        await self._event(
            job,
            "Uploaded",
            f"{task_name(rank)}: log to {target}: {info.size} bytes in {_ms(started)} ms",
        )

    async def log_tail(self, handle: TaskHandle) -> str:
        """The last lines of a task's log, for the status of a job that failed."""
        chunk = await read_tail(self.backend, handle, LOG_TAIL_BYTES)
        lines = chunk.data.decode("utf-8", errors="replace").splitlines()
        return "\n".join(lines[-LOG_TAIL_LINES:])

    async def _event(
        self, job: JobRef, reason: str, message: str, type: EventType = EventType.NORMAL
    ) -> None:
        await self.db.run_in_transaction(
            _record,
            project_id=job.project_id,
            job_id=job.id,
            reason=reason,
            message=message,
            type=type,
        )

    def remove_attempt(self, job_id: str, attempt: int) -> None:
        shutil.rmtree(self.root / job_id / str(attempt), ignore_errors=True)


def _record(
    session: Session, *, project_id: str, job_id: str, reason: str, message: str, type: EventType
) -> None:
    record_event_sync(
        session,
        project_id=project_id,
        resource_type=WORKLOAD_KIND,
        resource_name=job_id,
        resource_id=job_id,
        reason=reason,
        message=message,
        type=type,
        fold=False,
    )


def job_ref(job: TrainingJob) -> JobRef:
    return JobRef(job.id, job.project_id, job.name, job.attempt, Plan.model_validate_json(job.plan))


def _job_of_workload(session: Session, workload_id: str) -> JobRef | None:
    job = session.scalar(select(TrainingJob).where(TrainingJob.workload_id == workload_id))
    return job_ref(job) if job is not None else None


def _foreign_buckets(session: Session, job: JobRef) -> list[str]:
    plan = job.plan
    urls = [
        plan.code_dir,
        plan.log_export_path,
        *(c.obs_url for c in (*plan.inputs, *plan.outputs)),
    ]
    names = sorted({ObjectPath.parse(url).bucket for url in urls if url})
    owned = {
        b.name: b.project_id for b in session.scalars(select(Bucket).where(Bucket.name.in_(names)))
    }
    return [name for name in names if owned.get(name) != job.project_id]


def _wanted(session: Session, workload_id: str) -> bool:
    job = session.scalar(select(TrainingJob).where(TrainingJob.workload_id == workload_id))
    workload = session.get(Workload, workload_id)
    return (
        job is not None
        and job.desired == "run"
        and workload is not None
        and workload.desired == "run"
    )


def _fresh(dirs: TaskDirs, plan: Plan) -> None:
    """Empty folders for this attempt (a retry starts clean, as a new container would)."""
    shutil.rmtree(dirs.home, ignore_errors=True)
    for folder in dirs.all(plan):
        folder.mkdir(parents=True, exist_ok=True)


def _size(summary: TransferSummary) -> str:
    return f"{summary.files} file(s), {summary.bytes} bytes"


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


# -- a task's Python ---------------------------------------------------------------------------
def _interpreter_of(spec: TaskSpec) -> str:
    """The engine's Python a task was queued to run: the software its sandbox shows (the
    platform's own choice: a job's variables, PATH among them, are its user's); without
    a sandbox, where its user's code could run anything anyway, its PATH's first folder
    (domain/training_plan.py's task_environment puts it there)."""
    if spec.view is not None and spec.view.software:
        return spec.view.software[0]
    return str(Path(spec.env["PATH"].split(os.pathsep)[0]) / "python")


def _with_interpreter(spec: TaskSpec, python: str) -> TaskSpec:
    """``spec`` run by ``python`` instead of its engine's: its boot file's interpreter,
    the python its PATH finds first, and the environment its sandbox shows."""
    old = _interpreter_of(spec)
    command = tuple(python if part == old else part for part in spec.command[:1])
    # The engine's folder on PATH becomes the new environment's; a PATH the user set
    # without it stays theirs.
    old_bin, new_bin = str(Path(old).parent), str(Path(python).parent)
    path = [new_bin if part == old_bin else part for part in spec.env["PATH"].split(os.pathsep)]
    env = {**spec.env, "PATH": os.pathsep.join(path)}
    view = spec.view
    if view is not None:
        view = dataclasses.replace(
            view, software=tuple(python if s == old else s for s in view.software)
        )
    return dataclasses.replace(spec, command=(*command, *spec.command[1:]), env=env, view=view)
