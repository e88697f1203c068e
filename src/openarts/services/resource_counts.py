"""How many resources of a kind each project has, kept in the transaction that creates or
deletes one: a list's total is then one row's read, however many there are."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts.db.tables import ResourceCount

TRAINING_JOBS = "training_job"


def add_to_count(session: Session, project_id: str, kind: str, delta: int) -> None:
    """Add ``delta`` to the project's count of ``kind`` (one upsert: the row is made by
    the first create)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ResourceCount).values(project_id=project_id, kind=kind, count=delta)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[ResourceCount.project_id, ResourceCount.kind],
            set_={"count": ResourceCount.count + delta},
        )
    )


async def count_of_kind(session: AsyncSession, project_id: str, kind: str) -> int:
    found = await session.scalar(
        select(ResourceCount.count).where(
            ResourceCount.project_id == project_id, ResourceCount.kind == kind
        )
    )
    return int(found or 0)
