"""Which project owns which bucket. The objects themselves live in the configured store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.db.tables import Bucket, Project
from openarts.ids import now_ms


async def owner_of(session: AsyncSession, name: str) -> str | None:
    return await session.scalar(select(Bucket.project_id).where(Bucket.name == name))


async def buckets_of(session: AsyncSession, project_ids: list[str]) -> list[Bucket]:
    query = select(Bucket).where(Bucket.project_id.in_(project_ids)).order_by(Bucket.name)
    return list(await session.scalars(query))


async def record_bucket(session: AsyncSession, *, name: str, project_id: str) -> Bucket:
    bucket = Bucket(name=name, project_id=project_id, created_at=now_ms())
    session.add(bucket)
    await session.flush()
    return bucket


async def forget_bucket(session: AsyncSession, name: str) -> None:
    bucket = await session.get(Bucket, name)
    if bucket is not None:
        await session.delete(bucket)


async def project_by_reference(
    session: AsyncSession, reference: str, member_of: list[str]
) -> str | None:
    """The ID of a project named or identified by ``reference`` among ``member_of``."""
    query = select(Project.id).where(
        Project.id.in_(member_of), (Project.id == reference) | (Project.name == reference)
    )
    return await session.scalar(query)
