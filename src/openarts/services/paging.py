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


async def page_from_either_end(
    session: AsyncSession,
    statement: Select[T],
    *,
    order: Sequence[tuple[Any, bool]],
    offset: int,
    limit: int,
    total: int | None = None,
) -> Page[T]:
    """As ``page_of``, ordered by ``(column, ascending)`` pairs (the last unique), with
    ``total`` when the caller knows it. A page nearer the end is read from the end, in
    the opposite order, and turned round: the first and the last page then cost the
    same however many rows there are (an offset is skipped row by row)."""
    if total is None:
        total = await count_of(session, statement)
    end = min(offset + limit, total)
    if offset >= end:
        return Page([], total)
    from_end = total - end
    if from_end >= offset:
        ordered = [column.asc() if up else column.desc() for column, up in order]
        rows = await session.scalars(statement.order_by(*ordered).offset(offset).limit(limit))
        return Page(list(rows), total)
    backwards = [column.desc() if up else column.asc() for column, up in order]
    rows = await session.scalars(
        statement.order_by(*backwards).offset(from_end).limit(end - offset)
    )
    return Page(list(rows)[::-1], total)


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
