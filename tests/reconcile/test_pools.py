"""Dedicated pools over a fake backend: capacity set apart, admission into pools, GPUs
handed out without sharing, scaling and deleting refused while work runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from openarts.backends.base import NodeInfo
from openarts.db.engine import Database
from openarts.db.tables import Pool, Workload
from openarts.domain.workloads import WorkloadStatus
from openarts.errors import OpenArtsError
from openarts.hostinfo import GpuInfo, HostInfo
from openarts.reconcile.pools import PoolReconciler
from openarts.reconcile.workloads import WorkloadReconciler
from openarts.services import identity
from openarts.services import networks as network_service
from openarts.services import pools as pool_service
from openarts.services import workloads as workload_service
from openarts.services.flavors import FlavorCatalog
from openarts.services.workloads import TaskTemplate
from openarts.testing.fake_backends import FakeBackend

GIB = 1 << 30
HOST = HostInfo(
    cpus=16,
    memory_bytes=64 * GIB,
    arch="x86",
    gpus=(GpuInfo(0, "fake", 16000), GpuInfo(1, "fake", 16000)),
)


@dataclass
class World:
    db: Database
    project_id: str
    domain_id: str
    backend: FakeBackend
    reconciler: WorkloadReconciler
    catalog: FlavorCatalog
    network: str


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    db = Database(database_url)
    await db.migrate()
    async with db.session() as session, session.begin():
        domain = await identity.create_domain(session, "d")
        project = await identity.create_project(session, domain_id=domain.id, name="p")
        network = await network_service.create_network(
            session,
            network_service.NetworkRequest("net-test", "192.168.0.0/24"),
            project_id=project.id,
            allowed=["192.168.0.0/16"],
            quota=5,
        )
    backend = FakeBackend([NodeInfo("host-1", 16.0, 64 * GIB, 2, "x86", gpu_ids=(0, 1))])
    reconciler = WorkloadReconciler(
        db, backend, pools=PoolReconciler(db, backend, sample_interval_s=0.0)
    )
    await reconciler.hosts.refresh()
    yield World(
        db, project.id, domain.id, backend, reconciler, FlavorCatalog.load(HOST), network.name
    )
    await db.close()


async def create_pool(
    world: World,
    flavor: str = "modelarts.vm.gpu.t4u8",
    count: int = 1,
    *,
    overcommit: bool = False,
    name: str | None = None,
) -> str:
    async with world.db.session() as session, session.begin():
        pool = await pool_service.create_pool(
            session,
            pool_service.PoolRequest(
                display_name=name or f"pool-{count}-{flavor.rsplit('.', 1)[-1]}",
                type="Dedicate",
                resources=[pool_service.FlavorCount(flavor, count)],
                network=world.network,
            ),
            project_id=world.project_id,
            domain_id=world.domain_id,
            catalog=world.catalog,
            hosts=world.reconciler.hosts.latest,
            overcommit=overcommit,
            quota=10,
        )
        return pool.name


async def submit(world: World, pool: str, *, vcpus: float = 1.0, gpus: int = 0) -> str:
    async with world.db.session() as session, session.begin():
        workload = await workload_service.submit_workload(
            session,
            project_id=world.project_id,
            kind="train",
            resource_id="job",
            tasks=[TaskTemplate(["/bin/true"], "/", vcpus=vcpus, memory_bytes=GIB, gpus=gpus)],
            pool=pool,
        )
        return workload.id


async def workload(world: World, workload_id: str) -> Workload:
    async with world.db.session() as session:
        found = await session.get(Workload, workload_id)
        assert found is not None
        return found


async def phase(world: World, pool: str) -> str | None:
    async with world.db.session() as session:
        found = await session.get(Pool, pool)
        return found.phase if found else None


async def test_a_pool_takes_its_capacity_and_gpus_apart_from_the_public_pool(world: World) -> None:
    pool = await create_pool(world)
    assert await phase(world, pool) == "Creating"
    await world.reconciler.run_once()
    assert await phase(world, pool) == "Running"

    in_pool = await submit(world, pool, vcpus=4, gpus=1)
    public = await submit(world, "", vcpus=4, gpus=1)
    third = await submit(world, "", vcpus=1, gpus=1)
    too_big = await submit(world, "", vcpus=10)
    await world.reconciler.run_once()

    assert (await workload(world, in_pool)).status == WorkloadStatus.RUNNING
    assert (await workload(world, public)).status == WorkloadStatus.RUNNING
    gpus = {
        spec.spec.task_id.rsplit("-", 1)[0]: spec.spec.gpu_ids
        for spec in world.backend.tasks.values()
    }
    # The pool's node holds GPU 0 or 1, the public pool the other: never both the same.
    assert sorted(gpus[in_pool] + gpus[public]) == [0, 1]
    waiting = await workload(world, third)
    assert waiting.status == WorkloadStatus.PENDING
    assert "GPUs" in waiting.reason and "public pool" in waiting.reason
    # The t4u8 node set 8 vCPUs apart: the public pool has 8 left, so 10 can never fit.
    assert "can never fit" in (await workload(world, too_big)).reason


async def test_capacity_short_is_refused_and_overcommit_allows_it(world: World) -> None:
    with pytest.raises(OpenArtsError) as short:
        await create_pool(world, "modelarts.vm.cpu.8u", 3)
    assert short.value.status_code == 400
    assert "not enough free capacity" in short.value.error_msg
    async with world.db.session() as session:
        assert list(await session.scalars(select(Pool))) == []
    # GPUs are never overcommitted; vCPUs and memory may be.
    await create_pool(world, "modelarts.vm.cpu.8u", 3, overcommit=True)
    with pytest.raises(OpenArtsError):
        await create_pool(world, "modelarts.vm.gpu.t4u8", 3, overcommit=True)


async def test_scaling_deleting_nodes_and_the_pool_wait_for_running_work(world: World) -> None:
    pool = await create_pool(world, "modelarts.vm.cpu.2u", 2)
    await world.reconciler.run_once()
    job = await submit(world, pool, vcpus=2)
    await world.reconciler.run_once()
    assert (await workload(world, job)).status == WorkloadStatus.RUNNING
    async with world.db.session() as session:
        nodes = (await pool_service.nodes_of(session, [pool]))[pool]
        busy = await pool_service.busy_nodes(session, [n.name for n in nodes])
    busy_node = next(iter(busy))
    idle_node = next(n.name for n in nodes if n.name != busy_node)

    async with world.db.session() as session, session.begin():
        found = await pool_service.get_pool(session, project_id=world.project_id, name=pool)
        with pytest.raises(OpenArtsError, match="unfinished workload"):
            await pool_service.delete_pool(session, found)
        with pytest.raises(OpenArtsError, match="work runs on node"):
            await pool_service.delete_nodes(session, found, [busy_node])
        with pytest.raises(OpenArtsError, match="at least one node must remain"):
            await pool_service.delete_nodes(session, found, [busy_node, idle_node])

    async def scale(count: int) -> None:
        async with world.db.session() as session, session.begin():
            found = await pool_service.get_pool(session, project_id=world.project_id, name=pool)
            await pool_service.update_pool(
                session,
                found,
                labels=None,
                annotations=None,
                scope=None,
                resources=[pool_service.FlavorCount("modelarts.vm.cpu.2u", count)],
                driver=None,
                catalog=world.catalog,
                hosts=world.reconciler.hosts.latest,
                overcommit=False,
            )

    with pytest.raises(OpenArtsError, match="keeps at least one node"):
        await scale(0)
    second = await submit(world, pool, vcpus=2)
    await world.reconciler.run_once()
    assert (await workload(world, second)).status == WorkloadStatus.RUNNING
    with pytest.raises(OpenArtsError, match="work runs on 2 of its 2 nodes"):
        await scale(1)
    world.backend.finish(f"{second}-0")
    await world.reconciler.run_once()
    # Down to one: the idle node goes, the busy one stays.
    await scale(1)
    await world.reconciler.run_once()
    async with world.db.session() as session:
        left = [n.name for n in (await pool_service.nodes_of(session, [pool]))[pool]]
    assert left == [busy_node]

    world.backend.finish(f"{job}-0")
    await world.reconciler.run_once()
    async with world.db.session() as session, session.begin():
        found = await pool_service.get_pool(session, project_id=world.project_id, name=pool)
        await pool_service.delete_pool(session, found)
    assert await phase(world, pool) == "Deleting"
    await world.reconciler.run_once()
    assert await phase(world, pool) is None


async def test_a_new_pool_never_takes_what_running_public_work_holds(world: World) -> None:
    public = await submit(world, "", vcpus=1, gpus=1)
    await world.reconciler.run_once()
    assert (await workload(world, public)).status == WorkloadStatus.RUNNING
    held = world.backend.tasks[f"{public}-0"].spec.gpu_ids
    pool = await create_pool(world)
    async with world.db.session() as session:
        nodes = (await pool_service.nodes_of(session, [pool]))[pool]
    assert [n.gpu_ids for n in nodes] != [",".join(map(str, held))]
    # Both GPUs are now taken (one by the running task, one by the pool).
    with pytest.raises(OpenArtsError, match="not enough free capacity"):
        await create_pool(world, "modelarts.vm.gpu.t4u8", 1, name="pool-second")


async def test_work_goes_only_to_a_ready_pool_of_its_own_project(world: World) -> None:
    pool = await create_pool(world, "modelarts.vm.cpu.2u", 1)
    async with world.db.session() as session, session.begin():
        domain = await identity.create_domain(session, "other")
        other = await identity.create_project(session, domain_id=domain.id, name="q")
    with pytest.raises(OpenArtsError) as foreign:
        async with world.db.session() as session, session.begin():
            await workload_service.submit_workload(
                session,
                project_id=other.id,
                kind="train",
                resource_id="job",
                tasks=[TaskTemplate(["/bin/true"], "/")],
                pool=pool,
            )
    assert foreign.value.status_code == 404
    async with world.db.session() as session, session.begin():
        found = await pool_service.get_pool(session, project_id=world.project_id, name=pool)
        await pool_service.delete_pool(session, found)
    with pytest.raises(OpenArtsError, match="takes no new work"):
        await submit(world, pool)
