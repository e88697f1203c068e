"""Resource pools (v2): pools, their nodes, monitor, statistics, workloads and metrics.

Creating, scaling and deleting pools and nodes set host capacity apart from everyone's
public pool, so they need an administrator; any member of the project may read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.api import pool_views
from openarts.api.deps import (
    AdminCallerDep,
    CallerDep,
    CatalogDep,
    HostsDep,
    PoolChangesDep,
    SessionDep,
    SettingsDep,
)
from openarts.api.paging import ContinueQuery, page_metadata, page_start
from openarts.db.tables import Pool
from openarts.domain.labels import LabelSelectorError, parse_label_selector
from openarts.errors import OpenArtsError
from openarts.ids import now_ms
from openarts.schemas.common import ERROR_RESPONSES, MAX_OFFSET, required_name, text_map
from openarts.schemas.pools import (
    NodeListWire,
    NodesDeleteIn,
    PoolCreateIn,
    PoolListWire,
    PoolMetricsListWire,
    PoolMonitorWire,
    PoolResourceIn,
    PoolStatistics,
    PoolStatisticsWire,
    PoolStatusCounts,
    PoolUpdateIn,
    PoolWire,
    PublicPoolWire,
    WorkloadListWire,
    WorkloadStatisticsWire,
)
from openarts.services import networks as network_service
from openarts.services import pool_reports
from openarts.services import pools as pool_service
from openarts.services import public_pool as public_pool_service
from openarts.services.plugin_templates import nvidia_driver_version

router = APIRouter(prefix="/v2/{project_id}", tags=["Resource pools"], responses=ERROR_RESPONSES)

POOL_STATUS_FILTER = {
    "created": {"Running", "Abnormal", "ScalingFailed"},
    "creating": {"Creating"},
    "failed": {"CreationFailed", "Error"},
}


def _counts(resources: list[PoolResourceIn]) -> list[pool_service.FlavorCount]:
    return [
        pool_service.FlavorCount(
            r.flavor,
            r.count,
            r.maxCount,
            [az.model_dump() for az in r.azs] if r.azs else None,
            r.extendParams,
        )
        for r in resources
    ]


async def _wire(session: AsyncSession, pool: Pool) -> PoolWire:
    nodes = (await pool_service.nodes_of(session, [pool.name]))[pool.name]
    return pool_views.pool_wire(pool, nodes, nvidia_driver_version())


@router.post(
    "/pools", response_model=PoolWire, response_model_exclude_none=True, summary="Create a pool"
)
async def create_pool(
    body: PoolCreateIn,
    caller: AdminCallerDep,
    hosts: HostsDep,
    changes: PoolChangesDep,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> PoolWire:
    labels = text_map(body.metadata.labels)
    annotations = text_map(body.metadata.annotations)
    if body.spec is None:
        raise OpenArtsError(errors.POOL_BAD_REQUEST, "spec is required: give its resources")
    name = required_name(labels)
    request = pool_service.PoolRequest(
        display_name=name,
        type=body.spec.type,
        resources=_counts(body.spec.resources),
        network=body.spec.network.name if body.spec.network else None,
        scope=[s.value for s in body.spec.scope]
        if body.spec.scope
        else ["Train", "Infer", "Notebook"],
        workspace_id=labels.get(pool_service.WORKSPACE_LABEL, "0"),
        sharing=labels.get(pool_service.SHARING_LABEL),
        node_prefix=labels.get(pool_service.PREFIX_LABEL, ""),
        description=annotations.pop(pool_service.DESCRIPTION, ""),
        annotations=annotations,
        driver=body.spec.driver.model_dump(exclude_none=True) if body.spec.driver else None,
        parent=body.spec.parent,
    )
    fresh = await hosts.refresh()  # the backend, outside the transaction
    # Committed before the lock is released, so the next request sees this capacity gone.
    async with changes.open() as session:
        pool = await pool_service.create_pool(
            session,
            request,
            project_id=caller.project_id,
            domain_id=caller.domain_id,
            catalog=catalog,
            hosts=fresh,
            overcommit=settings.pool_overcommit,
            quota=settings.pool_quota,
            max_flavors=settings.max_pool_flavors,
        )
        answer = await _wire(session, pool)
    return answer


@router.get(
    "/pools", response_model=PoolListWire, response_model_exclude_none=True, summary="List pools"
)
async def list_pools(
    caller: CallerDep,
    session: SessionDep,
    workspace_id: Annotated[str | None, Query(alias="workspaceId", max_length=64)] = None,
    label_selector: Annotated[str | None, Query(alias="labelSelector", max_length=1024)] = None,
    status: Annotated[str | None, Query(pattern="^(created|failed|creating)$")] = None,
    parent: Annotated[str | None, Query(max_length=128)] = None,
) -> PoolListWire:
    try:
        selector = parse_label_selector(label_selector or "")
    except LabelSelectorError as exc:
        raise OpenArtsError(errors.POOL_BAD_REQUEST, f"labelSelector: {exc}") from None
    pools = await pool_service.list_pools(session, project_id=caller.project_id)
    if parent is not None:
        pools = []  # no logical sub-pools exist here
    wanted = [
        pool
        for pool in pools
        if (workspace_id is None or pool.workspace_id == workspace_id)
        and (status is None or pool.phase in POOL_STATUS_FILTER[status])
        and selector.matches(pool_views.pool_labels(pool))
    ]
    nodes = await pool_service.nodes_of(session, [p.name for p in wanted])
    driver = nvidia_driver_version()
    return PoolListWire(items=[pool_views.pool_wire(p, nodes[p.name], driver) for p in wanted])


@router.get(
    "/pools/{pool_name}",
    response_model=PoolWire,
    response_model_exclude_none=True,
    summary="Show a pool",
)
async def show_pool(pool_name: str, caller: CallerDep, session: SessionDep) -> PoolWire:
    pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
    return await _wire(session, pool)


@router.patch(
    "/pools/{pool_name}",
    response_model=PoolWire,
    response_model_exclude_none=True,
    summary="Update or scale a pool",
)
async def update_pool(
    pool_name: str,
    body: PoolUpdateIn,
    caller: AdminCallerDep,
    hosts: HostsDep,
    changes: PoolChangesDep,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> PoolWire:
    fresh = await hosts.refresh()  # the backend, outside the transaction
    async with changes.open() as session:
        pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
        spec = body.spec
        await pool_service.update_pool(
            session,
            pool,
            labels=text_map(body.metadata.labels) if body.metadata else None,
            annotations=text_map(body.metadata.annotations) if body.metadata else None,
            scope=[s.value for s in spec.scope] if spec and spec.scope is not None else None,
            resources=_counts(spec.resources) if spec and spec.resources is not None else None,
            driver=spec.driver.model_dump(exclude_none=True) if spec and spec.driver else None,
            catalog=catalog,
            hosts=fresh,
            overcommit=settings.pool_overcommit,
        )
        answer = await _wire(session, pool)
    return answer


@router.delete(
    "/pools/{pool_name}",
    response_model=PoolWire,
    response_model_exclude_none=True,
    summary="Delete a pool",
)
async def delete_pool(pool_name: str, caller: AdminCallerDep, changes: PoolChangesDep) -> PoolWire:
    async with changes.open() as session:
        pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
        await pool_service.delete_pool(session, pool)
        answer = await _wire(session, pool)
    return answer


@router.get("/pools/{pool_name}/monitor", response_model=PoolMonitorWire, summary="Monitor a pool")
async def monitor_pool(
    pool_name: str,
    caller: CallerDep,
    session: SessionDep,
    time_range: Annotated[str, Query(max_length=64)] = "-1.-1.60",
    statistics: Annotated[str, Query(max_length=64)] = "maximum",
    period: Annotated[str, Query(max_length=16)] = "60",
) -> PoolMonitorWire:
    pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
    query = pool_reports.parse_monitor_query(time_range, statistics, period, now=now_ms())
    return pool_views.monitor_wire(pool, await pool_reports.monitor(session, pool, query))


@router.get(
    "/statistics/pools", response_model=PoolStatisticsWire, summary="Obtain pool statistics"
)
async def pool_statistics(
    caller: CallerDep,
    session: SessionDep,
    workspace_id: Annotated[str | None, Query(alias="workspaceId", max_length=64)] = None,
) -> PoolStatisticsWire:
    pools = await pool_service.list_pools(session, project_id=caller.project_id)
    pools = [p for p in pools if workspace_id is None or p.workspace_id == workspace_id]
    three_days_ago = now_ms() - 3 * 24 * 3600 * 1000
    return PoolStatisticsWire(
        statistics=PoolStatistics(
            status=PoolStatusCounts(
                creating=sum(p.phase in POOL_STATUS_FILTER["creating"] for p in pools),
                created=sum(p.phase in POOL_STATUS_FILTER["created"] for p in pools),
                failed=min(
                    sum(
                        p.phase in POOL_STATUS_FILTER["failed"] and p.created_at >= three_days_ago
                        for p in pools
                    ),
                    500,
                ),
            )
        ),
        operationTime=pool_views.timestamp(now_ms()),
    )


# -- nodes ----------------------------------------------------------------------------------
@router.get(
    "/pools/{pool_name}/nodes",
    response_model=NodeListWire,
    response_model_exclude_none=True,
    summary="List a pool's nodes",
)
async def list_nodes(
    pool_name: str,
    caller: CallerDep,
    session: SessionDep,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    continue_token: ContinueQuery = None,
) -> NodeListWire:
    pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
    nodes = (await pool_service.nodes_of(session, [pool.name]))[pool.name]
    used = await pool_reports.requested_by_node(session, [n.name for n in nodes])
    network = await network_service.find_network(
        session, project_id=caller.project_id, name=pool.network or ""
    )
    start = page_start(continue_token)
    page = nodes[start : start + limit] if limit else nodes[start:]
    return NodeListWire(
        metadata=page_metadata(start=start, returned=len(page), total=len(nodes)),
        items=[
            pool_views.node_wire(
                n, pool, used.get(n.name, (0.0, 0, 0)), network.cidr if network else None
            )
            for n in page
        ],
    )


@router.post("/pools/{pool_name}/nodes/batch-delete", summary="Delete nodes in batches")
async def delete_nodes(
    pool_name: str,
    body: NodesDeleteIn,
    caller: AdminCallerDep,
    changes: PoolChangesDep,
) -> dict[str, object]:
    async with changes.open() as session:
        pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
        await pool_service.delete_nodes(session, pool, body.deleteNodeNames)
    return {}


# -- workloads and metrics ------------------------------------------------------------------
@router.get(
    "/pools/{pool_name}/workloads",
    response_model=WorkloadListWire,
    response_model_exclude_none=True,
    summary="List the jobs in a pool",
)
async def list_pool_workloads(
    pool_name: str,
    caller: CallerDep,
    session: SessionDep,
    type: Annotated[str | None, Query(pattern="^(train|infer|notebook)$")] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    sort: Annotated[str | None, Query(pattern="^create_time$")] = None,
    ascend: Annotated[bool, Query()] = False,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=500)] = 0,
    hostip: Annotated[list[str] | None, Query()] = None,
) -> WorkloadListWire:
    if status is not None and status not in pool_views.JOB_STATUSES:
        raise OpenArtsError(
            errors.POOL_BAD_REQUEST,
            f"status {status!r} is not a job status; use one of "
            + ", ".join(pool_views.JOB_STATUSES),
        )
    pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
    found = await pool_reports.pool_workloads(session, pool)
    items = [
        w
        for w in pool_views.workload_items(found, now=now_ms())
        if (type is None or w.type == type)
        and (status is None or w.status == status)
        and (not hostip or set(hostip) & set(w.hostIps.split(",")))
    ]
    items.sort(key=lambda w: (w.createTime, w.uid), reverse=not ascend)
    return WorkloadListWire(items=items[offset : offset + (limit or 500)])


@router.get(
    "/statistics/pools/{pool_name}/workloads",
    response_model=WorkloadStatisticsWire,
    summary="Obtain statistics about a pool's jobs",
)
async def pool_workload_statistics(
    pool_name: str, caller: CallerDep, session: SessionDep
) -> WorkloadStatisticsWire:
    pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
    found = await pool_reports.pool_workloads(session, pool)
    return pool_views.workload_statistics(pool_views.workload_items(found, now=now_ms()))


@router.get(
    "/public-pool",
    response_model=PublicPoolWire,
    response_model_exclude_none=True,
    summary="Show the public pool: its capacity, usage and line (OpenArts' own)",
)
async def show_public_pool(
    caller: CallerDep, hosts: HostsDep, session: SessionDep
) -> PublicPoolWire:
    known = await hosts.known()  # the backend, before the transaction's first statement
    report = await public_pool_service.public_pool(session, known, caller.project_id)
    return pool_views.public_pool_wire(report)


@router.get(
    "/metrics/runtime/pools",
    response_model=PoolMetricsListWire,
    summary="Obtain the real-time resource usage",
)
async def runtime_metrics(caller: CallerDep, session: SessionDep) -> PoolMetricsListWire:
    usages = await pool_reports.runtime_usage(session, project_id=caller.project_id)
    return pool_views.runtime_usage_wire(usages, now=now_ms())
