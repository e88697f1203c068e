"""A use case's hints reach the loops once its transaction has committed, and never when
it rolled back."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from openarts.db.tables import Project
from openarts.services.hints import Hint, hint
from tests.conftest import Scene


async def test_hints_are_told_once_the_transaction_commits(scene: Scene) -> None:
    async with scene.db.session() as session, session.begin():
        hint(session, Hint.WORKLOADS)
        hint(session, Hint.TRAINING, Hint.WORKLOADS)
        # Not before the commit: a loop woken now would not see the change.
        assert scene.hinted == []
    assert scene.hinted == [frozenset({Hint.WORKLOADS, Hint.TRAINING})]


async def test_a_rolled_back_transaction_hints_nothing(scene: Scene) -> None:
    with pytest.raises(RuntimeError):
        async with scene.db.session() as session, session.begin():
            hint(session, Hint.SERVICES)
            raise RuntimeError("the use case refused")
    async with scene.db.session() as session, session.begin():
        await session.scalar(select(Project.id))
    assert scene.hinted == []


async def test_hints_of_a_loops_transaction_are_told_too(scene: Scene) -> None:
    def work(session: Session) -> None:
        hint(session, Hint.ROUTES)

    await scene.db.run_in_transaction(work)
    assert scene.woken() == {Hint.ROUTES}


async def test_a_savepoint_neither_tells_nor_forgets(scene: Scene) -> None:
    async with scene.db.session() as session, session.begin():
        hint(session, Hint.MODELS)
        async with session.begin_nested():
            hint(session, Hint.IMAGES)
        # Released, not committed: nothing is told yet.
        assert scene.hinted == []
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                raise RuntimeError("the inner step failed")
    # The transaction committed what it noted, the savepoint's notes included.
    assert scene.woken() == {Hint.MODELS, Hint.IMAGES}
