"""One page of a list, and how many there are in all: the count and the page every list
use case answers with, read from one statement so the two always agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int


async def page_of(
    session: AsyncSession,
    statement: Select[T],
    *,
    order_by: Sequence[Any],
    offset: int,
    limit: int,
) -> Page[T]:
    """The rows ``statement`` selects from ``offset``, at most ``limit`` of them, in
    ``order_by`` order (end it with a unique column, so pages never overlap), and how
    many it selects in all."""
    total = await count_of(session, statement)
    rows = await session.scalars(statement.order_by(*order_by).offset(offset).limit(limit))
    return Page(list(rows), total)


async def count_of(session: AsyncSession, statement: Select[Any]) -> int:
    """How many rows ``statement`` selects."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return int(await session.scalar(counted) or 0)


async def count_where(
    session: AsyncSession, table: type[Any], *conditions: ColumnElement[bool]
) -> int:
    """How many rows of ``table`` meet every condition."""
    counted = select(func.count()).select_from(table).where(*conditions)
    return int(await session.scalar(counted) or 0)
