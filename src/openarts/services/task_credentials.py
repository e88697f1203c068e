"""Task credentials: the temporary AK/SK a workload's sandboxed tasks use to reach the
object store themselves (``obs://`` read by their own code, moxing, an S3 or OBS SDK).

One per workload, made as its tasks start. It reaches only the buckets of the
workload's project, never another's and never the administrator's, and it works only
while the workload has not finished: the S3 endpoint checks that at every request (it
is never cached), so it is revoked the moment the workload ends. Rows of finished
workloads are removed as new ones are issued (and with their workload).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.db.tables import TaskCredential, Workload
from openarts.domain.workloads import WorkloadStatus
from openarts.ids import new_access_key, new_secret_key, now_ms
from openarts.security.secrets_box import SecretBox

# Finished workloads' rows removed per issue: a bounded amount of work each time.
TIDY_BATCH = 100
LIVE = tuple(s.value for s in WorkloadStatus if not s.finished)


@dataclass(frozen=True, slots=True)
class TaskCredentialLookup:
    secret_encrypted: str
    project_id: str
    workload_id: str


class UnknownWorkload(LookupError):
    """The workload is gone: its tasks get no credential."""


async def issue(session: AsyncSession, box: SecretBox, workload_id: str) -> tuple[str, str]:
    """A new AK/SK for the tasks of ``workload_id``, scoped to its project."""
    workload = await session.get(Workload, workload_id)
    if workload is None:
        raise UnknownWorkload(f"workload {workload_id} does not exist")
    await _tidy(session)
    access_key, secret_key = new_access_key(), new_secret_key()
    session.add(
        TaskCredential(
            access_key=access_key,
            workload_id=workload_id,
            project_id=workload.project_id,
            secret_encrypted=box.encrypt(secret_key),
            created_at=now_ms(),
        )
    )
    await session.flush()
    return access_key, secret_key


async def lookup(session: AsyncSession, access_key: str) -> TaskCredentialLookup | None:
    """The credential, if it exists and its workload has not finished."""
    query = (
        select(TaskCredential)
        .join(Workload, Workload.id == TaskCredential.workload_id)
        .where(TaskCredential.access_key == access_key, Workload.status.in_(LIVE))
    )
    found = (await session.scalars(query)).first()
    if found is None:
        return None
    return TaskCredentialLookup(found.secret_encrypted, found.project_id, found.workload_id)


async def _tidy(session: AsyncSession) -> None:
    finished = (
        select(TaskCredential.access_key)
        .join(Workload, Workload.id == TaskCredential.workload_id)
        .where(Workload.status.not_in(LIVE))
        .limit(TIDY_BATCH)
    )
    keys = list(await session.scalars(finished))
    if keys:
        await session.execute(delete(TaskCredential).where(TaskCredential.access_key.in_(keys)))
