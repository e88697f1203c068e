"""Creating, terminating and deleting training jobs as use cases: what is written, what
is refused (with nothing written), and which loops are told."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from openarts import errors
from openarts.db.tables import TrainingJob, Workload
from openarts.domain.capacity import HostNode
from openarts.domain.training import JobPhase
from openarts.domain.workloads import WorkloadStatus
from openarts.errors import OpenArtsError
from openarts.services import training_jobs as service
from openarts.services.hints import Hint
from openarts.services.training_jobs import TrainingPlatform
from tests.conftest import GIB, ROOMY, Scene, job_request


async def create(
    scene: Scene, training: TrainingPlatform, name: str, hosts: list[HostNode] = ROOMY
) -> TrainingJob:
    async with scene.db.session() as session, session.begin():
        return await service.create_job(session, training, scene.caller, job_request(name), hosts)


async def test_a_job_of_the_builtin_engine_is_queued_at_once(
    scene: Scene, training: TrainingPlatform
) -> None:
    job = await create(scene, training, "first")
    # Queued by its create: the workload loop's alone (the training loop hears of it
    # when its workload moves).
    assert scene.woken() == {Hint.WORKLOADS}
    async with scene.db.session() as session:
        stored = await session.get(TrainingJob, job.id)
        assert stored is not None and stored.phase == JobPhase.PENDING
        assert stored.workload_id is not None
        workload = await session.get(Workload, stored.workload_id)
        assert workload is not None and workload.status == WorkloadStatus.PENDING


async def test_a_job_no_host_could_ever_hold_is_refused_and_nothing_is_written(
    scene: Scene, training: TrainingPlatform
) -> None:
    small = [HostNode("host", 0.5, 16 * GIB)]
    with pytest.raises(OpenArtsError) as refused:
        await create(scene, training, "too-big", small)
    assert "can never fit in the public pool" in refused.value.error_msg
    assert scene.woken() == set()
    async with scene.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(TrainingJob)) == 0
        assert await session.scalar(select(func.count()).select_from(Workload)) == 0


async def test_terminating_records_the_wish_and_tells_the_loops(
    scene: Scene, training: TrainingPlatform
) -> None:
    job = await create(scene, training, "stopped")
    scene.woken()
    async with scene.db.session() as session, session.begin():
        stored = await service.get_job(session, scene.caller.project_id, job.id)
        await service.terminate_job(session, stored)
    assert scene.woken() == {Hint.WORKLOADS, Hint.TRAINING}
    async with scene.db.session() as session:
        stored = await service.get_job(session, scene.caller.project_id, job.id)
        assert stored.desired == "terminate"
        assert stored.workload_id is not None
        workload = await session.get(Workload, stored.workload_id)
        assert workload is not None and workload.desired == "stop"


async def test_a_name_is_taken_once_per_project(scene: Scene, training: TrainingPlatform) -> None:
    await create(scene, training, "twice")
    with pytest.raises(OpenArtsError) as refused:
        await create(scene, training, "twice")
    assert refused.value.error_code == errors.TRAINING_JOB_EXISTS
    assert scene.woken() == {Hint.WORKLOADS}  # the first create's only
