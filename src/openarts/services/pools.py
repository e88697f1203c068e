"""Dedicated resource pools: creating, scaling, deleting, and their nodes and tags.

A pool's nodes are slices of the backend's nodes (see domain.capacity); the pool
reconciler brings new nodes up and removes deleted ones. Capacity is checked and set apart
here, under a lock (and, on PostgreSQL, an advisory lock), so two requests cannot promise
the same vCPUs twice. Rules that refuse a change say what to do instead and change nothing.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts import errors
from openarts.db.engine import Database
from openarts.db.tables import Pool, PoolNode, PoolTag, Workload, WorkloadTask
from openarts.domain import pools as rules
from openarts.domain.capacity import (
    GIB,
    CapacityShort,
    HostNode,
    Room,
    Slice,
    Want,
    carve,
    format_gpu_ids,
    parse_gpu_ids,
    schedulable_nodes,
)
from openarts.domain.cpu_share import admission_capacity, fitted, largest_public_node
from openarts.domain.events import EventResource, EventType
from openarts.domain.flavors import Flavor, FlavorUse
from openarts.domain.pools import NodePhase, PoolPhase, PoolScope
from openarts.domain.scheduling import Resources, place
from openarts.domain.workloads import WorkloadStatus
from openarts.errors import OpenArtsError
from openarts.ids import now_ms
from openarts.services import networks as network_service
from openarts.services.events import record_event
from openarts.services.flavors import FlavorCatalog
from openarts.services.hints import Hint, hint
from openarts.services.paging import count_where
from openarts.services.transitions import Recorded, transition

NAME_LABEL = "os.modelarts/name"
WORKSPACE_LABEL = "os.modelarts/workspace.id"
SHARING_LABEL = "os.modelarts/sharing"
PREFIX_LABEL = "os.modelarts/node.prefix"
DESCRIPTION = "os.modelarts/description"
SCHEDULER_EXTENSION = "os.modelarts/scheduler.extension"
DEFAULT_NODE_PREFIX = "os-node-created"
ZONE = "local"
MAX_TAGS = 20
# An advisory-lock key of our own for capacity changes on PostgreSQL ("oapool" in hex).
_CAPACITY_LOCK_KEY = 0x6F61706F6F6C
_NODE_SUFFIX = string.ascii_lowercase + string.digits
_LIVE_TASKS = ("starting", "running")
_UNFINISHED = [WorkloadStatus.PENDING, WorkloadStatus.RUNNING, WorkloadStatus.STOPPING]


@dataclass(frozen=True, slots=True)
class FlavorCount:
    flavor: str
    count: int
    max_count: int | None = None
    azs: list[dict[str, object]] | None = None
    extend_params: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class PoolRequest:
    display_name: str
    type: str
    resources: list[FlavorCount]
    network: str | None
    scope: list[str] = field(default_factory=lambda: [s.value for s in PoolScope])
    workspace_id: str = "0"
    sharing: str | None = None
    node_prefix: str = ""
    description: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    driver: dict[str, str] | None = None
    parent: str | None = None


def bad(message: str) -> OpenArtsError:
    return OpenArtsError(errors.POOL_BAD_REQUEST, message)


def not_found(name: str) -> OpenArtsError:
    return OpenArtsError(errors.POOL_NOT_FOUND, f"Pool {name} not found.")


class PoolChanges:
    """Where requests change pools, nodes, tags and networks: one change at a time (see
    ``pool_change``), with the in-process lock the workload loop's admission shares."""

    def __init__(self, db: Database, lock: asyncio.Lock) -> None:
        self.db = db
        self.lock = lock

    def open(self) -> AbstractAsyncContextManager[AsyncSession]:
        return pool_change(self.db, self.lock)


@asynccontextmanager
async def pool_change(
    db: Database, lock: asyncio.Lock, *, across_processes: bool = True
) -> AsyncIterator[AsyncSession]:
    """A transaction that changes pools, their nodes or tags, or networks, or admits work
    onto pool nodes: one at a time, within this process (``lock``) and across server
    processes (an advisory lock on PostgreSQL; SQLite's write lock), with everything
    read after the lock is taken, so no change is made from a stale view."""
    async with lock, db.session() as session, session.begin():
        if across_processes:
            await session.run_sync(take_capacity_lock_sync, db.is_sqlite)
        yield session


def take_capacity_lock_sync(session: Session, is_sqlite: bool) -> None:
    """The cross-process half of ``pool_change``, for a transaction already begun (the
    caller holds the in-process lock)."""
    if is_sqlite:
        # A write that matches nothing still takes SQLite's write lock, at once.
        session.execute(text("UPDATE pools SET name = name WHERE 0 = 1"))
    else:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CAPACITY_LOCK_KEY})


# -- reading --------------------------------------------------------------------------------
async def get_pool(session: AsyncSession, *, project_id: str, name: str) -> Pool:
    pool = await session.get(Pool, name)
    if pool is None or pool.project_id != project_id:
        raise not_found(name)
    return pool


async def list_pools(session: AsyncSession, *, project_id: str) -> list[Pool]:
    rows = await session.scalars(
        select(Pool).where(Pool.project_id == project_id).order_by(Pool.created_at, Pool.name)
    )
    return list(rows)


async def nodes_of(session: AsyncSession, pool_names: list[str]) -> dict[str, list[PoolNode]]:
    found: dict[str, list[PoolNode]] = {name: [] for name in pool_names}
    if not pool_names:
        return found
    rows = await session.scalars(
        select(PoolNode)
        .where(PoolNode.pool_name.in_(pool_names))
        .order_by(PoolNode.created_at, PoolNode.name)
    )
    for node in rows:
        found[node.pool_name].append(node)
    return found


async def count_pools(session: AsyncSession, *, project_id: str) -> int:
    return await count_where(session, Pool, Pool.project_id == project_id)


async def load_slices(session: AsyncSession) -> list[Slice]:
    """Every pool node, as the slice of its host it sets apart."""
    slices, _ = await inventory(session)
    return slices


async def inventory(session: AsyncSession) -> tuple[list[Slice], dict[str, str]]:
    return await session.run_sync(inventory_sync)


_POOLS = cast(Table, Pool.__table__).c
_NODES = cast(Table, PoolNode.__table__).c
# Core, built once: admission reads it on every pass.
_INVENTORY = select(
    _POOLS.name,
    _POOLS.display_name,
    _POOLS.phase,
    _NODES.name,
    _NODES.host,
    _NODES.vcpus,
    _NODES.memory_bytes,
    _NODES.gpu_ids,
    _NODES.phase,
).outerjoin(PoolNode.__table__, _NODES.pool_name == _POOLS.name)


def inventory_sync(session: Session) -> tuple[list[Slice], dict[str, str]]:
    """Every pool node as the slice it sets apart, and how waiting reasons name each
    pool, in one query (admission reads both on every pass)."""
    rows = session.execute(_INVENTORY)
    slices, names = [], {}
    for name, display, phase, node, host, vcpus, memory, gpu_ids, node_phase in rows:
        names[name] = f"pool {display}"
        if node is not None:
            slices.append(
                Slice(
                    name=node,
                    pool=name,
                    host=host,
                    vcpus=vcpus,
                    memory_bytes=memory,
                    gpu_ids=parse_gpu_ids(gpu_ids),
                    schedulable=node_phase == NodePhase.AVAILABLE
                    and phase in (PoolPhase.RUNNING, PoolPhase.ABNORMAL),
                )
            )
    return slices, names


def unschedulable_nodes_sync(session: Session, names: set[str]) -> set[str]:
    """Those of ``names`` that are pool nodes no longer ready for new work."""
    if not names:
        return set()
    rows = session.execute(
        select(PoolNode.name, PoolNode.phase, Pool.phase)
        .join(Pool, Pool.name == PoolNode.pool_name)
        .where(PoolNode.name.in_(sorted(names)))
    )
    return {
        name
        for name, node_phase, pool_phase in rows
        if node_phase != NodePhase.AVAILABLE
        or pool_phase not in (PoolPhase.RUNNING, PoolPhase.ABNORMAL)
    }


async def public_usage(session: AsyncSession, hosts: list[HostNode]) -> dict[str, Room]:
    """What live tasks of the public pool hold on each host (they run on the host's name)."""
    rows = await session.execute(
        select(
            WorkloadTask.node, WorkloadTask.vcpus, WorkloadTask.memory_bytes, WorkloadTask.gpu_ids
        ).where(
            WorkloadTask.node.in_([h.name for h in hosts]),
            WorkloadTask.status.in_(_LIVE_TASKS),
        )
    )
    # vCPUs the public pool promised several times over hold a share of that many.
    share = {h.name: h.cpu_share for h in hosts}
    usage: dict[str, Room] = {}
    for node, vcpus, memory, gpu_ids in rows:
        before = usage.get(node, Room(0.0, 0, ()))
        usage[node] = Room(
            before.vcpus + vcpus / share.get(node, 1.0),
            before.memory_bytes + memory,
            before.gpu_ids + parse_gpu_ids(gpu_ids),
        )
    return usage


async def busy_nodes(session: AsyncSession, node_names: list[str]) -> dict[str, int]:
    """Node -> how many live tasks run on it."""
    if not node_names:
        return {}
    rows = await session.execute(
        select(WorkloadTask.node, func.count())
        .where(WorkloadTask.node.in_(node_names), WorkloadTask.status.in_(_LIVE_TASKS))
        .group_by(WorkloadTask.node)
    )
    return {node: int(count) for node, count in rows}


async def unfinished_workloads(session: AsyncSession, pool: Pool) -> int:
    return await count_where(
        session,
        Workload,
        Workload.pool == pool.name,
        Workload.project_id == pool.project_id,
        Workload.status.in_(_UNFINISHED),
    )


def flavor_counts(pool: Pool) -> list[FlavorCount]:
    spec = json.loads(pool.spec)
    return [
        FlavorCount(
            r["flavor"], int(r["count"]), r.get("maxCount"), r.get("azs"), r.get("extendParams")
        )
        for r in spec.get("resources", [])
    ]


# -- creating -------------------------------------------------------------------------------
async def create_pool(
    session: AsyncSession,
    request: PoolRequest,
    *,
    project_id: str,
    domain_id: str,
    catalog: FlavorCatalog,
    hosts: list[HostNode],
    overcommit: bool,
    quota: int,
    max_flavors: int = 10,
) -> Pool:
    problem = (
        rules.display_name_problem(request.display_name, low=4, high=64, what="pool")
        or rules.description_problem(request.description, high=255, what="pool")
        or rules.workspace_problem(request.workspace_id)
        or rules.sharing_problem(request.sharing)
    )
    if problem:
        raise bad(problem)
    if request.type != "Dedicate":
        raise bad(
            "only Dedicate pools can be created here: a Logical pool needs an approval "
            "workflow this platform does not have; set spec.type to Dedicate"
        )
    if request.parent:
        raise bad("spec.parent applies to logical sub-pools, which this platform does not have")
    if request.node_prefix:
        problem = rules.display_name_problem(
            request.node_prefix, low=1, high=32, what="node prefix"
        )
        if problem:
            raise bad(problem)
    flavors = _checked_flavors(catalog, request.resources, allow_zero=False)
    if len(flavors) > max_flavors:
        raise bad(f"a pool may have at most {max_flavors} flavors; it lists {len(flavors)}")
    _check_driver(request.driver, catalog)
    if not request.network:
        raise bad(
            "spec.network.name is required for a Dedicate pool: create a network with "
            "POST /v1/{project_id}/networks and name it here"
        )
    network = await network_service.find_network(
        session, project_id=project_id, name=request.network
    )
    if network is None:
        raise bad(f"network {request.network} does not exist in this project")
    taken = await count_where(
        session, Pool, Pool.project_id == project_id, Pool.display_name == request.display_name
    )
    if taken:
        raise OpenArtsError(
            errors.POOL_EXISTS, f"Pool {request.display_name} already exists in this project."
        )
    if await count_pools(session, project_id=project_id) >= quota:
        raise bad(f"the pool quota ({quota}) is used up: delete a pool first")
    wanted = [_want(flavors[r.flavor]) for r in request.resources for _ in range(r.count)]
    try:
        placement = carve(
            hosts,
            await load_slices(session),
            wanted,
            overcommit=overcommit,
            in_use=await public_usage(session, hosts),
        )
    except CapacityShort as exc:
        raise bad(f"cannot create pool {request.display_name}: {exc}") from None
    now = now_ms()
    pool = Pool(
        name=f"{request.display_name}-{secrets.token_hex(4)}",
        project_id=project_id,
        display_name=request.display_name,
        workspace_id=request.workspace_id,
        type=request.type,
        phase=PoolPhase.CREATING.value,
        message=f"creating {len(wanted)} node(s)",
        network=network.name,
        node_prefix=request.node_prefix,
        labels=json.dumps(
            {
                NAME_LABEL: request.display_name,
                WORKSPACE_LABEL: request.workspace_id,
                "os.modelarts/tenant.domain.id": domain_id,
                "os.modelarts/tenant.project.id": project_id,
                "os.modelarts.pool/biz": "private",
                **({SHARING_LABEL: request.sharing} if request.sharing else {}),
                **({PREFIX_LABEL: request.node_prefix} if request.node_prefix else {}),
            }
        ),
        annotations=json.dumps(
            request.annotations
            | ({DESCRIPTION: request.description} if request.description else {})
        ),
        spec=json.dumps(
            {
                "type": request.type,
                "scope": request.scope,
                "resources": [_resource_json(r) for r in request.resources],
                **({"driver": request.driver} if request.driver else {}),
            }
        ),
        created_at=now,
    )
    session.add(pool)
    await session.flush()
    flavor_of = [r.flavor for r in request.resources for _ in range(r.count)]
    for flavor_name, (host, gpus) in zip(flavor_of, placement, strict=True):
        session.add(_node(pool, flavors[flavor_name], host, gpus, now))
    await session.flush()
    await pool_event(
        session, pool, "Creating", f"creating {len(wanted)} node(s) on {_hosts_of(placement)}"
    )
    # Admission sees the pool's capacity change on its next pass.
    hint(session, Hint.WORKLOADS)
    return pool


def _want(flavor: Flavor) -> Want:
    return Want(flavor.vcpus, int(flavor.memory_gib * GIB), flavor.gpu.count if flavor.gpu else 0)


def _hosts_of(placement: list[tuple[str, tuple[int, ...]]]) -> str:
    return ", ".join(sorted({host for host, _ in placement}))


def _resource_json(r: FlavorCount) -> dict[str, object]:
    out: dict[str, object] = {"flavor": r.flavor, "count": r.count, "maxCount": r.count}
    if r.azs:
        out["azs"] = r.azs
    if r.extend_params:
        out["extendParams"] = r.extend_params
    return out


def _node(pool: Pool, flavor: Flavor, host: str, gpus: tuple[int, ...], now: int) -> PoolNode:
    suffix = "".join(secrets.choice(_NODE_SUFFIX) for _ in range(5))
    return PoolNode(
        name=f"{pool.node_prefix or DEFAULT_NODE_PREFIX}-{suffix}",
        pool_name=pool.name,
        flavor=flavor.name,
        host=host,
        vcpus=flavor.vcpus,
        memory_bytes=int(flavor.memory_gib * GIB),
        gpu_ids=format_gpu_ids(gpus),
        phase=NodePhase.CREATING.value,
        created_at=now,
    )


def _checked_flavors(
    catalog: FlavorCatalog, resources: list[FlavorCount], *, allow_zero: bool
) -> dict[str, Flavor]:
    found: dict[str, Flavor] = {}
    for r in resources:
        if r.flavor in found:
            raise bad(f"flavor {r.flavor} is listed twice in spec.resources; list it once")
        flavor = catalog.get(r.flavor)
        if flavor is None or not flavor.serves(FlavorUse.POOL):
            names = ", ".join(f.name for f in catalog.for_use(FlavorUse.POOL))
            raise bad(f"flavor {r.flavor} is not a pool flavor here; choose one of: {names}")
        reason = catalog.unusable_reason(flavor)
        if reason:
            raise bad(reason)
        if r.count < (0 if allow_zero else 1):
            raise bad(f"flavor {r.flavor}: count must be at least 1")
        if r.max_count is not None and r.max_count != r.count:
            raise bad(
                f"flavor {r.flavor}: maxCount must equal count in a Dedicate pool "
                f"(count {r.count}, maxCount {r.max_count})"
            )
        if r.azs:
            zones = {str(az.get("az")) for az in r.azs}
            if zones != {ZONE}:
                raise bad(f"flavor {r.flavor}: the only availability zone here is {ZONE!r}")
            if sum(int(str(az.get("count", 0))) for az in r.azs) != r.count:
                raise bad(f"flavor {r.flavor}: the azs counts must add up to count ({r.count})")
        found[r.flavor] = flavor
    return found


def _check_driver(driver: dict[str, str] | None, catalog: FlavorCatalog) -> None:
    if driver and driver.get("gpuVersion") and not catalog.host.gpus:
        raise bad("driver.gpuVersion was given, but this platform's hosts have no NVIDIA GPU")
    if driver and driver.get("npuVersion"):
        raise bad("driver.npuVersion was given, but this platform has no NPU")


# -- updating -------------------------------------------------------------------------------
async def update_pool(
    session: AsyncSession,
    pool: Pool,
    *,
    labels: dict[str, str] | None,
    annotations: dict[str, str] | None,
    scope: list[str] | None,
    resources: list[FlavorCount] | None,
    driver: dict[str, str] | None,
    catalog: FlavorCatalog,
    hosts: list[HostNode],
    overcommit: bool,
) -> Pool:
    if pool.phase == PoolPhase.DELETING:
        raise bad(f"pool {pool.display_name} is being deleted and cannot change")
    if labels and WORKSPACE_LABEL in labels and resources is not None:
        raise bad("the workspace cannot change in the same request as scaling; send two")
    description = (annotations or {}).get(DESCRIPTION)
    problem = (
        (rules.description_problem(description, high=255, what="pool") if description else None)
        or (
            rules.workspace_problem(labels[WORKSPACE_LABEL])
            if labels and WORKSPACE_LABEL in labels
            else None
        )
        or rules.sharing_problem((labels or {}).get(SHARING_LABEL))
    )
    if problem:
        raise bad(problem)
    if driver is not None:
        _check_driver(driver, catalog)
    plan = None
    if resources is not None:
        plan = await _scaling_plan(session, pool, resources, catalog, hosts, overcommit)
    # Everything checked: apply.
    current_labels = json.loads(pool.labels)
    for key in (WORKSPACE_LABEL, SHARING_LABEL):
        if labels and labels.get(key) is not None:
            current_labels[key] = labels[key]
    if labels and labels.get(WORKSPACE_LABEL) is not None:
        pool.workspace_id = labels[WORKSPACE_LABEL]
    pool.labels = json.dumps(current_labels)
    current_annotations = json.loads(pool.annotations)
    for key in (DESCRIPTION, SCHEDULER_EXTENSION):
        if annotations and annotations.get(key) is not None:
            current_annotations[key] = annotations[key]
    pool.annotations = json.dumps(current_annotations)
    spec = json.loads(pool.spec)
    if scope is not None:
        spec["scope"] = scope
    if driver is not None:
        spec["driver"] = driver
    if resources is not None and plan is not None:
        spec["resources"] = [_resource_json(r) for r in resources if r.count > 0]
        await _apply_scaling(session, pool, plan)
    pool.spec = json.dumps(spec)
    await session.flush()
    # Admission sees the pool's capacity change on its next pass.
    hint(session, Hint.WORKLOADS)
    return pool


@dataclass(slots=True)
class _ScalingPlan:
    add: list[tuple[Flavor, str, tuple[int, ...]]] = field(default_factory=list)
    remove: list[PoolNode] = field(default_factory=list)


async def _scaling_plan(
    session: AsyncSession,
    pool: Pool,
    resources: list[FlavorCount],
    catalog: FlavorCatalog,
    hosts: list[HostNode],
    overcommit: bool,
) -> _ScalingPlan:
    flavors = _checked_flavors(catalog, resources, allow_zero=True)
    if sum(r.count for r in resources) < 1:
        raise bad("a pool keeps at least one node: ask for a count of 1 or more")
    nodes = [
        n
        for n in (await nodes_of(session, [pool.name]))[pool.name]
        if n.phase != NodePhase.DELETING
    ]
    busy = await busy_nodes(session, [n.name for n in nodes])
    wanted = {r.flavor: r.count for r in resources}
    plan = _ScalingPlan()
    additions: list[Flavor] = []
    for flavor_name in sorted(set(wanted) | {n.flavor for n in nodes}):
        have = [n for n in nodes if n.flavor == flavor_name]
        target = wanted.get(flavor_name, 0)
        if target > len(have):
            additions += [flavors[flavor_name]] * (target - len(have))
        elif target < len(have):
            # Idle nodes go first, those not yet up before those that are.
            idle = sorted(
                (n for n in have if not busy.get(n.name)),
                key=lambda n: (n.phase == NodePhase.AVAILABLE, n.created_at),
            )
            excess = len(have) - target
            if len(idle) < excess:
                running = sorted(n.name for n in have if busy.get(n.name))
                raise bad(
                    f"cannot scale flavor {flavor_name} of pool {pool.display_name} to "
                    f"{target}: work runs on {len(running)} of its {len(have)} nodes "
                    f"({', '.join(running)}); stop that work or keep at least "
                    f"{len(running)} node(s)"
                )
            plan.remove += idle[:excess]
    if additions:
        try:
            placement = carve(
                hosts,
                await load_slices(session),
                [_want(f) for f in additions],
                overcommit=overcommit,
                in_use=await public_usage(session, hosts),
            )
        except CapacityShort as exc:
            raise bad(f"cannot scale pool {pool.display_name}: {exc}") from None
        plan.add = [(f, host, gpus) for f, (host, gpus) in zip(additions, placement, strict=True)]
    return plan


async def _apply_scaling(session: AsyncSession, pool: Pool, plan: _ScalingPlan) -> None:
    now = now_ms()
    for flavor, host, gpus in plan.add:
        session.add(_node(pool, flavor, host, gpus, now))
    for node in plan.remove:
        node.phase = NodePhase.DELETING.value
    await session.flush()
    if plan.add:
        await pool_event(session, pool, "ScalingUp", f"adding {len(plan.add)} node(s)")
    if plan.remove:
        names = ", ".join(n.name for n in plan.remove)
        await pool_event(session, pool, "ScalingDown", f"removing node(s) {names}")


async def delete_nodes(session: AsyncSession, pool: Pool, names: list[str]) -> None:
    if pool.phase == PoolPhase.DELETING:
        raise bad(f"pool {pool.display_name} is being deleted already")
    nodes = {n.name: n for n in (await nodes_of(session, [pool.name]))[pool.name]}
    unknown = sorted(set(names) - set(nodes))
    if unknown:
        raise bad(f"pool {pool.display_name} has no node named {', '.join(unknown)}")
    keep = [n for n in nodes.values() if n.name not in names and n.phase != NodePhase.DELETING]
    if not keep:
        raise bad("at least one node must remain in the pool: delete fewer nodes")
    busy = await busy_nodes(session, sorted(set(names)))
    if busy:
        raise bad(f"work runs on node(s) {', '.join(sorted(busy))}; stop it before deleting them")
    spec = json.loads(pool.spec)
    counts = {r["flavor"]: r for r in spec.get("resources", [])}
    for name in sorted(set(names)):
        node = nodes[name]
        if node.phase == NodePhase.DELETING:
            continue
        node.phase = NodePhase.DELETING.value
        entry = counts.get(node.flavor)
        if entry is not None:
            entry["count"] = entry["maxCount"] = max(int(entry["count"]) - 1, 0)
    spec["resources"] = [r for r in counts.values() if r["count"] > 0]
    pool.spec = json.dumps(spec)
    await session.flush()
    await pool_event(
        session, pool, "NodesDeleting", f"removing node(s) {', '.join(sorted(set(names)))}"
    )
    # Admission sees the pool's capacity change on its next pass.
    hint(session, Hint.WORKLOADS)


# -- deleting -------------------------------------------------------------------------------
async def delete_pool(session: AsyncSession, pool: Pool) -> Pool:
    if pool.phase == PoolPhase.DELETING:
        return pool
    waiting = await unfinished_workloads(session, pool)
    if waiting:
        raise bad(
            f"pool {pool.display_name} still has {waiting} unfinished workload(s) (queued or "
            "running); stop them before deleting the pool"
        )
    if not await switch_pool_phase(session, pool, PoolPhase.DELETING, "deleting the pool"):
        # Moved meanwhile, most likely by a second delete: that one does the work.
        await session.refresh(pool)
        if pool.phase == PoolPhase.DELETING:
            return pool
        raise bad(f"pool {pool.display_name} changed while being deleted; try again")
    pool.deleted_at = now_ms()
    for node in (await nodes_of(session, [pool.name]))[pool.name]:
        node.phase = NodePhase.DELETING.value
    await session.flush()
    # Admission sees the pool's capacity change on its next pass.
    hint(session, Hint.WORKLOADS)
    return pool


async def switch_pool_phase(
    session: AsyncSession,
    pool: Pool,
    to: PoolPhase,
    message: str,
    *,
    event_type: EventType = EventType.NORMAL,
) -> bool:
    """Compare-and-set the pool's phase, with an event; False if it moved meanwhile."""
    return await session.run_sync(
        transition,
        pool,
        to,
        rules.POOL_TRANSITIONS,
        kind="pool",
        field="phase",
        values={"message": message},
        event=Recorded(
            project_id=pool.project_id,
            resource_type=EventResource.POOLS,
            resource_name=pool.name,
            resource_id=pool.name,
            reason=to.value,
            message=message,
            type=event_type,
            # Folded into the pool's latest event when it says the same, as every other
            # event of a pool is.
            fold=True,
        ),
    )


async def pool_event(
    session: AsyncSession,
    pool: Pool,
    reason: str,
    message: str,
    event_type: EventType = EventType.NORMAL,
) -> None:
    await record_event(
        session,
        project_id=pool.project_id,
        resource_type=EventResource.POOLS,
        resource_name=pool.name,
        resource_id=pool.name,
        reason=reason,
        message=message,
        type=event_type,
    )


# -- tags -----------------------------------------------------------------------------------
async def tags_of(session: AsyncSession, pool_names: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {name: {} for name in pool_names}
    if pool_names:
        rows = await session.scalars(
            select(PoolTag).where(PoolTag.pool_name.in_(pool_names)).order_by(PoolTag.key)
        )
        for tag in rows:
            found[tag.pool_name][tag.key] = tag.value
    return found


async def add_tags(session: AsyncSession, pool: Pool, tags: dict[str, str]) -> None:
    current = (await tags_of(session, [pool.name]))[pool.name]
    if len(set(current) | set(tags)) > MAX_TAGS:
        raise bad(f"a pool holds at most {MAX_TAGS} tags; delete some first")
    for key, value in tags.items():
        if key in current:
            await session.execute(
                update(PoolTag)
                .where(PoolTag.pool_name == pool.name, PoolTag.key == key)
                .values(value=value)
            )
        else:
            session.add(PoolTag(pool_name=pool.name, key=key, value=value))
    await session.flush()


async def remove_tags(
    session: AsyncSession, pool: Pool, tags: list[tuple[str, str | None]]
) -> None:
    for key, value in tags:
        conditions = [PoolTag.pool_name == pool.name, PoolTag.key == key]
        if value is not None:
            conditions.append(PoolTag.value == value)
        await session.execute(delete(PoolTag).where(*conditions))
    await session.flush()


async def could_ever_fit(
    session: AsyncSession,
    hosts: list[HostNode],
    project_id: str,
    pool_id: str,
    needs: Sequence[Resources],
) -> bool:
    """Whether tasks of ``needs`` could all be placed in the pool (the public one for
    ""), were it empty: what never fits is refused at once instead of queued forever."""
    if pool_id:
        await get_pool(session, project_id=project_id, name=pool_id)
    slices, _ = await inventory(session)
    nodes = schedulable_nodes(hosts, slices)
    capacity = {n.name: admission_capacity(n) for n in nodes if n.pool == pool_id}
    # In a public pool that shares its host's CPUs, what is larger than the host runs
    # capped at it (domain/cpu_share.py), as admission will run it.
    asked = fitted(pool_id, tuple(needs), largest_public_node(nodes))
    # Nodes taken whole are a cluster's (Ray): there each task of a gang needs its own.
    spread = any(host.whole for host in hosts)
    return place(asked, capacity, spread=spread) is not None
