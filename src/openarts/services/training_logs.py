"""A training task's log, as a request sees it: the latest part of it, or a link to all
of it.

The job and the task's handle are read in a short session of their own; the backend and
the store are called after it has ended (never inside a transaction).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts.backends.base import ComputeBackend, TaskHandle, read_tail
from openarts.db.engine import Database
from openarts.db.tables import Bucket, TrainingJob, WorkloadTask
from openarts.domain.training_plan import Plan, task_name
from openarts.services import training_jobs as job_service
from openarts.services import training_specs as specs
from openarts.storage.base import ObjectStore, StorageError
from openarts.storage.presign import PlatformPresigner

# How long a log link works (the reference's five minutes).
LOG_LINK_S = 300
LOG_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class LogPreview:
    content: str
    current_size: int
    full_size: int


async def log_chunks(backend: ComputeBackend, handle: TaskHandle) -> AsyncIterator[bytes]:
    """A task's whole log as it is now, a chunk at a time."""
    offset = 0
    while True:
        chunk = await backend.read_logs(handle, offset=offset, limit=LOG_CHUNK)
        if not chunk.data:
            return
        yield chunk.data
        offset = chunk.next_offset


async def job_task(
    session: AsyncSession, project_id: str, job_id: str, task_id: str
) -> tuple[TrainingJob, int]:
    """The job and the rank of its task ``task_id`` (``worker-0`` …); an error naming the
    job's tasks when there is no such task."""
    job = await job_service.get_job(session, project_id, job_id)
    plan = Plan.model_validate_json(job.plan)
    ranks = {task_name(rank): rank for rank in range(plan.node_count)}
    if task_id not in ranks:
        raise specs.bad(f"task {task_id} is not a task of this job: {', '.join(ranks)}")
    return job, ranks[task_id]


class TrainingLogs:
    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        backend: ComputeBackend,
        *,
        presigner: PlatformPresigner | None = None,
        system_bucket: str = "openarts-system",
    ) -> None:
        self.db = db
        self.store = store
        self.backend = backend
        self.presigner = presigner
        self.system_bucket = system_bucket

    async def preview(
        self, project_id: str, job_id: str, task_id: str, max_bytes: int
    ) -> LogPreview:
        """The last ``max_bytes`` of the task's log (nothing before it started)."""
        _, _, handle = await self._task_of(project_id, job_id, task_id)
        if handle is None:
            return LogPreview("", 0, 0)
        chunk = await read_tail(self.backend, handle, max_bytes)
        return LogPreview(
            content=chunk.data.decode("utf-8", errors="replace"),
            current_size=len(chunk.data),
            full_size=max(chunk.full_size, chunk.next_offset),
        )

    async def link(self, project_id: str, job_id: str, task_id: str) -> str:
        """A plain-HTTP link to the task's whole log as it is now, valid for LOG_LINK_S:
        the log is copied to the platform's own bucket (which no project can reach) and
        the link is signed for exactly that copy."""
        job, rank, handle = await self._task_of(project_id, job_id, task_id)
        if handle is None:
            raise specs.bad(f"task {task_id} has not started yet: it has no log")
        try:
            return await self._link(job.id, job.attempt, rank, handle)
        except StorageError as error:
            raise specs.bad(f"no log link can be made: {error}") from None

    async def _link(self, job_id: str, attempt: int, rank: int, handle: TaskHandle) -> str:
        if self.presigner is None:
            raise StorageError("this server hands out no presigned links")
        if await self.db.run_in_transaction(_owned_by_a_project, self.system_bucket):
            # Made by a project before the platform reserved the name: never put other
            # projects' logs where that project can read them.
            raise StorageError(
                f"the system bucket {self.system_bucket} belongs to a project; set "
                "OPENARTS_SYSTEM_BUCKET to a name of the platform's own"
            )
        if not await self.store.bucket_exists(self.system_bucket):
            await self.store.create_bucket(self.system_bucket)
        key = f"training-logs/{job_id}/{attempt}/{task_name(rank)}.log"
        await self.store.write(self.system_bucket, key, log_chunks(self.backend, handle))
        return self.presigner.url(self.system_bucket, key, LOG_LINK_S)

    async def forget_copies(self, job_id: str) -> None:
        """Remove the log copies made for a job's links (the job is gone)."""
        if not await self.store.bucket_exists(self.system_bucket):
            return
        prefix = f"training-logs/{job_id}/"
        while True:
            page = await self.store.list_objects(self.system_bucket, prefix=prefix)
            for found in page.objects:
                await self.store.delete(self.system_bucket, found.key)
            if not page.objects or not page.is_truncated:
                return

    async def _task_of(
        self, project_id: str, job_id: str, task_id: str
    ) -> tuple[TrainingJob, int, TaskHandle | None]:
        """The job, the task's rank and its handle in the latest attempt (None before it
        started), read in a short session of their own."""
        async with self.db.session() as session:
            job, rank = await job_task(session, project_id, job_id, task_id)
            text = None
            if job.workload_id is not None:
                text = await session.scalar(
                    select(WorkloadTask.handle).where(
                        WorkloadTask.workload_id == job.workload_id, WorkloadTask.rank == rank
                    )
                )
        return job, rank, TaskHandle.from_json(text) if text else None


def _owned_by_a_project(session: Session, bucket: str) -> bool:
    return session.get(Bucket, bucket) is not None
