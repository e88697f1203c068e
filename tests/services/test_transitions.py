"""Every status moves the one way: allowed by its machine, compare-and-set, with an event."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openarts.db.tables import Event, Model
from openarts.domain.models import ModelStatus
from openarts.services import models as model_service
from openarts.services.hints import Hint
from tests.conftest import Scene, imported_model


async def imported(scene: Scene) -> str:
    model_id = await imported_model(scene)
    assert scene.woken() == {Hint.MODELS}
    return model_id


async def events_of(scene: Scene, model_id: str) -> list[str]:
    async with scene.db.session() as session:
        rows = await session.scalars(
            select(Event.reason).where(Event.resource_id == model_id).order_by(Event.id)
        )
        return list(rows)


async def test_a_move_is_written_with_its_values_and_an_event(scene: Scene) -> None:
    model_id = await imported(scene)

    def publish(session: Session) -> bool:
        model = session.get(Model, model_id)
        assert model is not None
        return model_service.switch_model_status(session, model, ModelStatus.PUBLISHED, "")

    assert await scene.db.run_in_transaction(publish)
    async with scene.db.session() as session:
        model = await session.get(Model, model_id)
        assert model is not None and model.status == ModelStatus.PUBLISHED
    assert (await events_of(scene, model_id))[-1] == "ModelPublished"


async def test_a_move_the_machine_forbids_is_refused_and_changes_nothing(scene: Scene) -> None:
    model_id = await imported(scene)
    async with scene.db.session() as session, session.begin():
        model = await session.get(Model, model_id)
        assert model is not None
        await session.run_sync(
            model_service.switch_model_status, model, ModelStatus.FAILED, "it broke"
        )
    before = await events_of(scene, model_id)
    with pytest.raises(ValueError, match="cannot go from failed to published"):
        async with scene.db.session() as session, session.begin():
            model = await session.get(Model, model_id)
            assert model is not None
            await session.run_sync(
                model_service.switch_model_status, model, ModelStatus.PUBLISHED, ""
            )
    async with scene.db.session() as session:
        model = await session.get(Model, model_id)
        assert model is not None and model.status == ModelStatus.FAILED
    assert await events_of(scene, model_id) == before


async def test_a_row_moved_meanwhile_is_left_alone(scene: Scene) -> None:
    model_id = await imported(scene)
    async with scene.db.session() as session, session.begin():
        model = await session.get(Model, model_id)
        assert model is not None and model.status == ModelStatus.PUBLISHING
        # Another server moves it first.
        async with scene.db.session() as other, other.begin():
            await other.execute(
                update(Model).where(Model.id == model_id).values(status=ModelStatus.FAILED.value)
            )
        moved = await session.run_sync(
            model_service.switch_model_status, model, ModelStatus.PUBLISHED, ""
        )
        assert moved is False
    async with scene.db.session() as session:
        model = await session.get(Model, model_id)
        assert model is not None and model.status == ModelStatus.FAILED
    assert "ModelPublished" not in await events_of(scene, model_id)
