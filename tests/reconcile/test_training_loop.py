"""The training loop stepped by hand beside the workload loop, over a fake backend: a job
follows its workload through its phases, its code staged in before its task starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from openarts.db.tables import TrainingJob
from openarts.domain.training import WORKLOAD_KIND, JobPhase
from openarts.reconcile.training import TrainingReconciler
from openarts.reconcile.workloads import WorkloadReconciler
from openarts.runtime.engine_envs import EngineEnvironments
from openarts.runtime.env_builds import EnvironmentBuilder
from openarts.runtime.training_staging import TrainingStaging
from openarts.services import training_jobs as job_service
from openarts.services.training_jobs import TrainingPlatform
from openarts.services.training_logs import TrainingLogs
from openarts.storage.base import one_chunk
from openarts.testing.fake_backends import FakeBackend
from tests.conftest import BUCKET, ROOMY, Scene, job_request


@dataclass
class Loops:
    backend: FakeBackend
    workloads: WorkloadReconciler
    training: TrainingReconciler

    async def step(self) -> None:
        """One pass of each, and whatever slow steps they began."""
        await self.workloads.run_once()
        await self.workloads.drain()
        await self.training.run_once()
        await self.training.drain()


@pytest.fixture
async def loops(scene: Scene, training: TrainingPlatform, tmp_path: Path) -> AsyncIterator[Loops]:
    backend = FakeBackend()
    staging = TrainingStaging(scene.db, scene.store, backend, training.root)
    envs = EngineEnvironments(tmp_path / "engines", EnvironmentBuilder(None, tmp_path))
    logs = TrainingLogs(scene.db, scene.store, backend)
    yield Loops(
        backend,
        WorkloadReconciler(scene.db, backend, preparers={WORKLOAD_KIND: staging}),
        TrainingReconciler(scene.db, training, staging, envs, logs),
    )


async def phase_of(scene: Scene, job_id: str) -> tuple[str, str]:
    async with scene.db.session() as session:
        job = await session.get(TrainingJob, job_id)
        assert job is not None
        return job.phase, job.reason


async def created(scene: Scene, training: TrainingPlatform, name: str) -> str:
    await scene.store.write(BUCKET, "code/train.py", one_chunk(b"print('hello')\n"))
    async with scene.db.session() as session, session.begin():
        job = await job_service.create_job(
            session, training, scene.caller, job_request(name), ROOMY
        )
    return job.id


async def test_a_job_runs_and_completes_as_its_task_does(
    scene: Scene, training: TrainingPlatform, loops: Loops
) -> None:
    job_id = await created(scene, training, "stepped")
    assert (await phase_of(scene, job_id))[0] == JobPhase.PENDING
    await loops.step()
    (task_id,) = loops.backend.started
    # The code was staged into the task's folder before it started.
    spec = loops.backend.tasks[task_id].spec
    assert (spec.workdir / "train.py").read_text() == "print('hello')\n"
    await loops.step()
    assert (await phase_of(scene, job_id))[0] == JobPhase.RUNNING
    loops.backend.finish(task_id)
    await loops.step()
    await loops.step()
    assert (await phase_of(scene, job_id))[0] == JobPhase.COMPLETED


async def test_a_task_that_fails_fails_the_job_with_its_exit_code(
    scene: Scene, training: TrainingPlatform, loops: Loops
) -> None:
    job_id = await created(scene, training, "failing")
    await loops.step()
    (task_id,) = loops.backend.started
    loops.backend.finish(task_id, exit_code=3)
    await loops.step()
    await loops.step()
    phase, reason = await phase_of(scene, job_id)
    assert phase == JobPhase.FAILED
    assert "3" in reason
