"""The workload reconciler driven step by step with run_once(), over fake and real backends."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from openarts.backends.base import NodeInfo, TaskHandle
from openarts.backends.local.backend import LocalBackend
from openarts.db.engine import Database
from openarts.db.tables import Event, Workload, WorkloadTask
from openarts.domain.workloads import WorkloadStatus
from openarts.hostinfo import HostInfo
from openarts.reconcile import workload_rows
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.workload_rows import ADMISSION_HEAD
from openarts.reconcile.workloads import WorkloadReconciler
from openarts.services import identity
from openarts.services import workloads as service
from openarts.services.workloads import TaskTemplate
from openarts.testing.fake_backends import FailingBackend, FakeBackend
from tests.sqlite_steps import sqlite_steps

GIB = 1 << 30


@dataclass
class World:
    db: Database
    project_id: str


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    db = Database(database_url)
    await db.migrate()
    async with db.session() as session, session.begin():
        domain = await identity.create_domain(session, "d")
        project = await identity.create_project(session, domain_id=domain.id, name="p")
    yield World(db, project.id)
    await db.close()


def template(vcpus: float = 1.0, *command: str) -> TaskTemplate:
    return TaskTemplate(list(command) or ["/bin/true"], "/", vcpus=vcpus, memory_bytes=GIB)


async def submit(world: World, name: str, *tasks: TaskTemplate, priority: int = 0) -> str:
    async with world.db.session() as session, session.begin():
        workload = await service.submit_workload(
            session,
            project_id=world.project_id,
            kind="test",
            resource_id=name,
            tasks=list(tasks),
            priority=priority,
        )
        return workload.id


async def status(world: World, workload_id: str) -> tuple[str, str]:
    async with world.db.session() as session:
        workload = await session.get(Workload, workload_id)
        assert workload is not None
        return workload.status, workload.reason


async def stop(world: World, workload_id: str) -> None:
    async with world.db.session() as session, session.begin():
        await service.request_stop(session, workload_id)


def fake(vcpus: float = 2.0) -> FakeBackend:
    return FakeBackend([NodeInfo("node-1", vcpus, 64 * GIB, 0, "x86")])


async def test_admits_runs_and_succeeds(world: World) -> None:
    backend = fake()
    reconciler = WorkloadReconciler(world.db, backend)
    job = await submit(world, "job", template(1), template(1))
    await reconciler.run_once()
    assert (await status(world, job))[0] == WorkloadStatus.RUNNING
    assert sorted(backend.started) == [f"{job}-0", f"{job}-1"]
    backend.finish(f"{job}-0")
    await reconciler.run_once()
    assert (await status(world, job))[0] == WorkloadStatus.RUNNING
    backend.finish(f"{job}-1")
    await reconciler.run_once()
    assert await status(world, job) == (WorkloadStatus.SUCCEEDED, "all tasks succeeded")
    async with world.db.session() as session:
        reasons = [
            e.reason
            for e in await session.scalars(
                select(Event).where(Event.resource_name == "job").order_by(Event.id)
            )
        ]
    assert reasons == ["Queued", "WorkloadRunning", "WorkloadSucceeded"]


async def test_a_full_pool_queues_with_a_reason_and_drains(world: World) -> None:
    backend = fake(vcpus=2)
    reconciler = WorkloadReconciler(world.db, backend)
    first = await submit(world, "first", template(2))
    second = await submit(world, "second", template(2))
    await reconciler.run_once()
    assert (await status(world, first))[0] == WorkloadStatus.RUNNING
    state, reason = await status(world, second)
    assert state == WorkloadStatus.PENDING
    assert reason.startswith(
        "waiting for 2 vCPUs, 1.0 GiB in the public pool; 0 vCPUs, 63.0 GiB free; held by "
    ), reason
    # What holds the pool, by what it is and what it holds.
    assert reason.endswith("(2 vCPUs, 1.0 GiB)"), reason
    backend.finish(f"{first}-0")
    await reconciler.run_once()
    assert (await status(world, second))[0] == WorkloadStatus.RUNNING


async def test_a_failed_gang_member_fails_the_workload_and_stops_the_rest(world: World) -> None:
    backend = fake()
    reconciler = WorkloadReconciler(world.db, backend)
    job = await submit(world, "gang", template(1), template(1))
    await reconciler.run_once()
    backend.finish(f"{job}-1", exit_code=2)
    await reconciler.run_once()
    await reconciler.drain()
    assert await status(world, job) == (WorkloadStatus.FAILED, "task 1 failed: exit code 2")
    assert backend.tasks[f"{job}-0"].stop_calls == 1


async def test_stop_requests(world: World) -> None:
    backend = fake(vcpus=1)
    reconciler = WorkloadReconciler(world.db, backend)
    running = await submit(world, "running", template(1))
    waiting = await submit(world, "waiting", template(1))
    await reconciler.run_once()
    await stop(world, running)
    await stop(world, waiting)
    await reconciler.run_once()
    await reconciler.drain()
    assert (await status(world, waiting))[0] == WorkloadStatus.STOPPED
    assert (await status(world, running))[0] in (WorkloadStatus.STOPPING, WorkloadStatus.STOPPED)
    await reconciler.run_once()
    assert await status(world, running) == (WorkloadStatus.STOPPED, "stopped")
    assert backend.tasks[f"{running}-0"].stop_calls == 1


async def test_a_start_failure_is_a_failed_workload_with_the_reason(world: World) -> None:
    reconciler = WorkloadReconciler(world.db, FailingBackend("image not found"))
    job = await submit(world, "bad", template(1))
    await reconciler.run_once()
    assert await status(world, job) == (WorkloadStatus.FAILED, "could not start: image not found")


async def test_a_lost_task_fails_the_workload(world: World) -> None:
    backend = fake()
    reconciler = WorkloadReconciler(world.db, backend)
    job = await submit(world, "lost", template(1))
    await reconciler.run_once()
    backend.lose(f"{job}-0")
    await reconciler.run_once()
    assert (await status(world, job))[0] == WorkloadStatus.FAILED


async def test_real_processes_and_a_restart(world: World, tmp_path: Path) -> None:
    host = HostInfo(cpus=2, memory_bytes=8 * GIB, arch="x86")
    backend = LocalBackend(tmp_path / "tasks", host)
    reconciler = WorkloadReconciler(world.db, backend, stop_grace_s=2)
    ok = await submit(
        world, "ok", TaskTemplate([sys.executable, "-c", "print('done')"], str(tmp_path), vcpus=1)
    )
    bad = await submit(world, "bad", TaskTemplate(["/no/such/interpreter"], str(tmp_path), vcpus=1))
    long = await submit(
        world,
        "long",
        TaskTemplate(
            [sys.executable, "-c", "import time; time.sleep(300)"], str(tmp_path), vcpus=1
        ),
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        await reconciler.run_once()
        if (await status(world, ok))[0] == WorkloadStatus.SUCCEEDED and (await status(world, long))[
            0
        ] == WorkloadStatus.RUNNING:
            break
    assert (await status(world, ok))[0] == WorkloadStatus.SUCCEEDED
    bad_state, bad_reason = await status(world, bad)
    assert bad_state == WorkloadStatus.FAILED and "does not exist" in bad_reason
    # A new reconciler and backend, as after a server restart, adopt the running task.
    adopter = WorkloadReconciler(world.db, LocalBackend(tmp_path / "tasks", host), stop_grace_s=2)
    await adopter.run_once()
    assert (await status(world, long))[0] == WorkloadStatus.RUNNING
    await stop(world, long)
    deadline = time.monotonic() + 20
    while (await status(world, long))[0] != WorkloadStatus.STOPPED:
        assert time.monotonic() < deadline
        await adopter.run_once()
        await adopter.drain()
    async with world.db.session() as session:
        [task] = await session.scalars(select(WorkloadTask).where(WorkloadTask.workload_id == long))
    assert task.status == "stopped"


async def test_only_one_reconciler_leads(world: World, tmp_path: Path) -> None:
    backend = fake(vcpus=8)
    first = WorkloadReconciler(
        world.db, backend, interval_s=0.01, leadership=Leadership(world.db, tmp_path / "lock")
    )
    second_db = Database(world.db.url)
    second = WorkloadReconciler(
        second_db, backend, interval_s=0.01, leadership=Leadership(second_db, tmp_path / "lock")
    )
    assert first.leadership is not None and second.leadership is not None
    assert await first.leadership.held()
    assert not await second.leadership.held()
    jobs = [await submit(world, f"job{i}", template(1)) for i in range(6)]
    loops = [asyncio.create_task(r.run_forever()) for r in (first, second)]
    try:
        deadline = time.monotonic() + 20
        while sorted(backend.started) != sorted(f"{job}-0" for job in jobs):
            assert time.monotonic() < deadline, backend.started
            await asyncio.sleep(0.02)
        # The leader goes away; the other takes over and keeps working.
        loops[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loops[0]
        late = await submit(world, "late", template(1))
        while f"{late}-0" not in backend.started:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert len(backend.started) == len(set(backend.started)) == 7
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await second_db.close()


class FlakyStopBackend(FakeBackend):
    """Its first stop fails, as when a node is briefly unreachable."""

    def __init__(self) -> None:
        super().__init__([NodeInfo("node-1", 4.0, 64 * GIB, 0, "x86")])
        self.failures = 1

    async def stop(self, handle: TaskHandle, *, grace_s: float) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("node unreachable")
        await super().stop(handle, grace_s=grace_s)


async def test_a_failed_stop_is_tried_again(world: World) -> None:
    backend = FlakyStopBackend()
    reconciler = WorkloadReconciler(world.db, backend)
    job = await submit(world, "flaky", template(1))
    await reconciler.run_once()
    await stop(world, job)
    deadline = time.monotonic() + 10
    while (await status(world, job))[0] != WorkloadStatus.STOPPED:
        assert time.monotonic() < deadline
        await reconciler.run_once()
        await reconciler.drain()
    assert backend.tasks[f"{job}-0"].stop_calls == 1 and backend.failures == 0


async def test_a_workload_needs_a_task(world: World) -> None:
    with pytest.raises(ValueError, match="at least one task"):
        await submit(world, "empty")


async def test_many_tasks_ending_in_one_pass_are_all_settled(world: World) -> None:
    backend = fake(vcpus=8.0)
    reconciler = WorkloadReconciler(world.db, backend)
    ids = [await submit(world, f"many-{i}", template(1.0)) for i in range(5)]
    gang = await submit(world, "gang", template(1.0), template(1.0))
    await reconciler.run_once()
    assert [(await status(world, i))[0] for i in [*ids, gang]] == ["Running"] * 6
    for workload_id in ids:
        backend.finish(f"{workload_id}-0")
    backend.finish(f"{gang}-0")
    backend.finish(f"{gang}-1", exit_code=3)
    await reconciler.run_once()
    assert [(await status(world, i))[0] for i in ids] == ["Succeeded"] * 5
    assert await status(world, gang) == ("Failed", "task 1 failed: exit code 3")


async def test_a_small_job_far_down_the_line_starts_when_the_head_cannot(world: World) -> None:
    # Passes that tell no reasons read only the head of the line first; room left after
    # the head must still reach the workloads behind it.
    backend = fake(vcpus=4.0)
    reconciler = WorkloadReconciler(world.db, backend)
    running = await submit(world, "running", template(2.0))
    big = [await submit(world, f"big-{i}", template(4.0)) for i in range(ADMISSION_HEAD + 4)]
    await reconciler.run_once()  # tells every waiting workload why it waits
    assert (await status(world, running))[0] == WorkloadStatus.RUNNING
    small = await submit(world, "small", template(1.0))
    await reconciler.run_once()  # within the reasons' refresh period: the head is read first
    assert (await status(world, small))[0] == WorkloadStatus.RUNNING
    assert [(await status(world, b))[0] for b in big] == ["Pending"] * len(big)


# PostgreSQL only: SQLite lets one transaction write at a time, so the two cannot cross.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_start_that_fails_while_a_stop_is_being_recorded_still_ends_the_workload(
    world: World,
) -> None:
    """The loop's pass moves a running workload to stopping (a stop request) while its
    preparation fails beside it: whichever commits first, the workload ends, never left
    stopping with nothing left to stop."""
    workload_id = await submit(world, "crossed", template())
    async with world.db.session() as session, session.begin():
        await session.execute(
            update(Workload).where(Workload.id == workload_id).values(status="Running")
        )
    async with world.db.session() as stopping, stopping.begin():
        await stopping.execute(
            update(Workload)
            .where(Workload.id == workload_id, Workload.status == "Running")
            .values(status="Stopping")
        )

        async def fail_the_start() -> None:
            await world.db.run_in_transaction(
                workload_rows.record_starts, [], {workload_id: "the data is gone"}
            )

        failing = asyncio.create_task(fail_the_start())
        # The failure waits on the stop's transaction (the same row); then that commits.
        await until_a_transaction_waits_for_a_lock(world)
        assert not failing.done()
    await asyncio.wait_for(failing, 10)
    assert (await status(world, workload_id))[0] == WorkloadStatus.FAILED


async def until_a_transaction_waits_for_a_lock(world: World) -> None:
    deadline = time.monotonic() + 10
    async with world.db.session() as watcher:
        while True:
            waiting = await watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
            if waiting:
                return
            assert time.monotonic() < deadline, "nothing came to wait for the workload's row"
            await watcher.rollback()
            await asyncio.sleep(0.02)


async def test_a_pass_costs_the_same_however_long_the_line(world: World, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("counts SQLite's steps; the statements are the same on PostgreSQL")
    # One task holds the node; the rest wait in line, longer than one pass reads.
    reconciler = WorkloadReconciler(world.db, fake(vcpus=1.0), interval_s=60)
    await submit(world, "holder", template())
    for n in range(2 * workload_rows.ADMISSION_WINDOW):
        await submit(world, f"waiting-{n}", template())
    await reconciler.run_once()
    await reconciler.run_once()

    async def full_pass() -> None:
        # Both measured passes do all a pass may: tell every workload in the window why
        # it waits, and look again for tasks that must end.
        reconciler._reasons_refreshed = reconciler._stops_checked = float("-inf")
        await reconciler.run_once()

    with sqlite_steps(world.db) as short:
        await full_pass()
    for n in range(1000):
        await submit(world, f"more-{n}", template())
    await full_pass()
    with sqlite_steps(world.db) as long:
        await full_pass()
    # Reading every waiting workload would take thousands of steps more here.
    assert long[0] <= short[0] * 1.2 + 10, (short, long)
