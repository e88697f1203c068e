"""The training loop reads only what changed: jobs being created, jobs asked to terminate,
and jobs whose workload moved, a bounded number of each per pass. These tests hold it to
catching every change (ends, termination, deletion, a restart) when there is more news
than one pass reads, and to a pass costing the same however many jobs wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from openarts.db.tables import TrainingJob, Workload
from openarts.domain.training import WORKLOAD_KIND, JobPhase
from openarts.reconcile import training as training_loop
from openarts.reconcile.training import TrainingReconciler
from openarts.reconcile.workloads import WorkloadReconciler
from openarts.runtime.engine_envs import EngineEnvironments
from openarts.runtime.env_builds import EnvironmentBuilder
from openarts.runtime.training_staging import TrainingStaging
from openarts.services import training_jobs as job_service
from openarts.services.hints import Hint
from openarts.services.training_jobs import TrainingPlatform
from openarts.services.training_logs import TrainingLogs
from openarts.storage.base import one_chunk
from openarts.testing.fake_backends import FakeBackend
from tests.conftest import BUCKET, ROOMY, Scene, job_request
from tests.sqlite_steps import sqlite_steps

# Fewer rows a pass than there is news in these tests: what is not read in one pass must
# be read in a later one.
SMALL_PASS = 3


@dataclass
class Loops:
    scene: Scene
    training_platform: TrainingPlatform
    backend: FakeBackend
    workloads: WorkloadReconciler
    training: TrainingReconciler
    tmp_path: Path

    def fresh_training_loop(self) -> TrainingReconciler:
        """A training loop as a restarted server makes it: nothing in memory."""
        staging = TrainingStaging(
            self.scene.db, self.scene.store, self.backend, self.training_platform.root
        )
        envs = EngineEnvironments(
            self.tmp_path / "engines", EnvironmentBuilder(None, self.tmp_path)
        )
        logs = TrainingLogs(self.scene.db, self.scene.store, self.backend)
        return TrainingReconciler(self.scene.db, self.training_platform, staging, envs, logs)

    async def step(self, times: int = 1) -> None:
        for _ in range(times):
            await self.workloads.run_once()
            await self.workloads.drain()
            await self.training.run_once()
            await self.training.drain()


@pytest.fixture
async def loops(
    scene: Scene, training: TrainingPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Loops]:
    monkeypatch.setattr(training_loop, "PASS_ROWS", SMALL_PASS)
    await scene.store.write(BUCKET, "code/train.py", one_chunk(b"print('hello')\n"))
    backend = FakeBackend()
    staging = TrainingStaging(scene.db, scene.store, backend, training.root)
    envs = EngineEnvironments(tmp_path / "engines", EnvironmentBuilder(None, tmp_path))
    logs = TrainingLogs(scene.db, scene.store, backend)
    yield Loops(
        scene,
        training,
        backend,
        WorkloadReconciler(scene.db, backend, preparers={WORKLOAD_KIND: staging}),
        TrainingReconciler(scene.db, training, staging, envs, logs),
        tmp_path,
    )


async def create(loops: Loops, name: str) -> str:
    async with loops.scene.db.session() as session, session.begin():
        job = await job_service.create_job(
            session, loops.training_platform, loops.scene.caller, job_request(name), ROOMY
        )
    return job.id


async def phases(loops: Loops, job_ids: list[str]) -> dict[str, str]:
    async with loops.scene.db.session() as session:
        rows = await session.execute(
            select(TrainingJob.id, TrainingJob.phase).where(TrainingJob.id.in_(job_ids))
        )
        return {job_id: phase for job_id, phase in rows}


async def unnoticed(loops: Loops) -> int:
    async with loops.scene.db.session() as session:
        counted = await session.scalar(
            select(func.count()).select_from(Workload).where(Workload.noticed.is_(False))
        )
        return int(counted or 0)


async def test_every_end_is_caught_when_more_end_than_a_pass_reads(loops: Loops) -> None:
    job_ids = [await create(loops, f"many-{n}") for n in range(8)]
    # Eight start: three seen running a pass.
    await loops.step(4)
    assert set((await phases(loops, job_ids)).values()) == {JobPhase.RUNNING}
    for task_id in loops.backend.started:
        loops.backend.finish(task_id)
    # Eight ends, three read a pass: a few passes conclude them all.
    await loops.step(5)
    assert set((await phases(loops, job_ids)).values()) == {JobPhase.COMPLETED}
    assert await unnoticed(loops) == 0


async def test_termination_reaches_a_waiting_job_behind_many(loops: Loops) -> None:
    # Eight run (the fake node's eight vCPUs), the rest wait; the last is terminated.
    job_ids = [await create(loops, f"queued-{n}") for n in range(12)]
    await loops.step(4)
    last = job_ids[-1]
    async with loops.scene.db.session() as session, session.begin():
        job = await session.get(TrainingJob, last)
        assert job is not None and job.phase == JobPhase.PENDING
        await job_service.terminate_job(session, job)
    await loops.step(2)
    found = await phases(loops, job_ids)
    assert found[last] == JobPhase.TERMINATED
    assert list(found.values()).count(JobPhase.RUNNING) == 8


async def test_a_deleted_jobs_workload_ends_and_is_read_no_more(loops: Loops) -> None:
    job_id = await create(loops, "deleted")
    await loops.step(2)
    async with loops.scene.db.session() as session, session.begin():
        job = await session.get(TrainingJob, job_id)
        assert job is not None
        await job_service.delete_job(session, job)
    await loops.step(3)
    (task_id,) = loops.backend.started
    assert loops.backend.tasks[task_id].stop_calls >= 1
    assert await unnoticed(loops) == 0


async def test_an_end_while_the_server_was_down_is_concluded_after_a_restart(
    loops: Loops,
) -> None:
    job_ids = [await create(loops, f"restarted-{n}") for n in range(5)]
    await loops.step(2)
    for task_id in loops.backend.started:
        loops.backend.finish(task_id)
    # Only the workload loop sees the ends; then "the server restarts".
    await loops.workloads.run_once()
    await loops.workloads.drain()
    loops.training = loops.fresh_training_loop()
    await loops.step(3)
    assert set((await phases(loops, job_ids)).values()) == {JobPhase.COMPLETED}


async def test_a_pass_costs_the_same_however_many_jobs_wait(
    loops: Loops, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("counts SQLite's steps; the statements are the same on PostgreSQL")
    # No workload pass: every job stays queued, as behind a full pool.
    await create(loops, "first")
    await loops.training.run_once()
    with sqlite_steps(loops.scene.db) as few:
        await loops.training.run_once()
    for n in range(300):
        await create(loops, f"waiting-{n}")
    await loops.training.run_once()
    with sqlite_steps(loops.scene.db) as many:
        await loops.training.run_once()
    # Reading every waiting job would take thousands of steps more here.
    assert many[0] <= few[0] * 1.2 + 10, (few, many)


async def test_only_what_asks_something_of_the_training_loop_wakes_it(loops: Loops) -> None:
    # A job whose engine is ready is queued by its create: the workload loop's, not the
    # training loop's, until its workload moves.
    told: list[set[str]] = []
    loops.scene.db.on_commit = lambda hints: told.append(set(hints))
    job_id = await create(loops, "ready")
    assert told == [{Hint.WORKLOADS}]
    told.clear()
    # Starting it moves the workload: that wakes the training loop, which sees it run.
    await loops.workloads.run_once()
    await loops.workloads.drain()
    assert any(Hint.WORKLOAD_MOVED in hints for hints in told)
    await loops.training.run_once()
    assert (await phases(loops, [job_id]))[job_id] == JobPhase.RUNNING
    told.clear()
    # A pass in which nothing moved wakes nobody.
    await loops.workloads.run_once()
    assert not any(Hint.WORKLOAD_MOVED in hints for hints in told)
