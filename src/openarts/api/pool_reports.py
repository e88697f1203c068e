"""Read-only reports on pools: their jobs, job statistics, usage now and over time."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.api import pool_views
from openarts.api.schemas.pools import (
    AllocatedWire,
    CapacityWire,
    DataPointWire,
    DimensionWire,
    MetricMetadataWire,
    MetricsItemWire,
    MetricTableWire,
    MetricWire,
    MonitorSeriesWire,
    PoolMetricsListWire,
    PoolMonitorWire,
    StatisticWire,
    WorkloadStatisticsBody,
    WorkloadStatisticsWire,
    WorkloadTypeStatistics,
    WorkloadWire,
)
from openarts.db.tables import Pool, PoolNode, PoolSample, Workload, WorkloadTask
from openarts.domain.capacity import parse_gpu_ids
from openarts.domain.pools import NodePhase, PoolPhase
from openarts.domain.workloads import WorkloadStatus
from openarts.errors import OpenArtsError
from openarts.services.pools import nodes_of

_LIVE_TASKS = ("starting", "running")
_TIME_RANGE = re.compile(r"^(-1|\d{10,13})\.(-1|\d{10,13})\.(\d{1,6})$")
MAX_POINTS = 1440


async def requested_by_node(
    session: AsyncSession, node_names: list[str]
) -> dict[str, tuple[float, int, int]]:
    """Node -> (vCPUs, memory, GPUs) its live tasks asked for."""
    if not node_names:
        return {}
    rows = await session.execute(
        select(
            WorkloadTask.node,
            func.sum(WorkloadTask.vcpus),
            func.sum(WorkloadTask.memory_bytes),
            func.sum(WorkloadTask.gpus),
        )
        .where(WorkloadTask.node.in_(node_names), WorkloadTask.status.in_(_LIVE_TASKS))
        .group_by(WorkloadTask.node)
    )
    return {node: (float(c or 0), int(m or 0), int(g or 0)) for node, c, m, g in rows}


async def pool_workloads(session: AsyncSession, pool: Pool, *, now: int) -> list[WorkloadWire]:
    rows = list(
        await session.scalars(
            select(Workload)
            .where(Workload.pool == pool.name, Workload.project_id == pool.project_id)
            .order_by(Workload.priority.desc(), Workload.queued_at, Workload.id)
        )
    )
    position = 0
    items = []
    for workload in rows:
        queued = workload.status == WorkloadStatus.PENDING
        if queued:
            position += 1
        items.append(
            pool_views.workload_wire(
                workload,
                now=now,
                position=position if queued else None,
                running_on_hosts=workload.status
                in (WorkloadStatus.RUNNING, WorkloadStatus.STOPPING),
            )
        )
    return items


def workload_statistics(items: list[WorkloadWire]) -> WorkloadStatisticsWire:
    by_type: dict[str, dict[str, int]] = {}
    for item in items:
        counts = by_type.setdefault(item.type, dict.fromkeys(pool_views.JOB_STATUSES, 0))
        counts[item.status] += 1
    return WorkloadStatisticsWire(
        statistics=WorkloadStatisticsBody(
            total=len(by_type),
            items=[
                WorkloadTypeStatistics(type=kind, total=sum(counts.values()), status=counts)
                for kind, counts in sorted(by_type.items())
            ],
        )
    )


@dataclass(frozen=True, slots=True)
class Capacity:
    vcpus: float
    memory_bytes: int
    gpus: int


def capacity_of(nodes: list[PoolNode]) -> Capacity:
    ready = [n for n in nodes if n.phase == NodePhase.AVAILABLE]
    return Capacity(
        sum(n.vcpus for n in ready),
        sum(n.memory_bytes for n in ready),
        sum(len(parse_gpu_ids(n.gpu_ids)) for n in ready),
    )


async def _latest_samples(session: AsyncSession, pool_names: list[str]) -> dict[str, PoolSample]:
    if not pool_names:
        return {}
    newest = (
        select(PoolSample.pool_name, func.max(PoolSample.taken_at).label("taken_at"))
        .where(PoolSample.pool_name.in_(pool_names))
        .group_by(PoolSample.pool_name)
        .subquery()
    )
    rows = await session.scalars(
        select(PoolSample).join(
            newest,
            (newest.c.pool_name == PoolSample.pool_name)
            & (newest.c.taken_at == PoolSample.taken_at),
        )
    )
    return {row.pool_name: row for row in rows}


async def runtime_usage(session: AsyncSession, *, project_id: str, now: int) -> PoolMetricsListWire:
    """Each pool's measured usage now (its latest sample) beside its capacity."""
    pools = list(
        await session.scalars(
            select(Pool)
            .where(Pool.project_id == project_id, Pool.phase != PoolPhase.DELETING)
            .order_by(Pool.created_at, Pool.name)
        )
    )
    nodes = await nodes_of(session, [p.name for p in pools])
    latest = await _latest_samples(session, [p.name for p in pools])
    # GPUs are whole devices: those handed to live tasks are the ones in use.
    requested = await requested_by_node(
        session, [n.name for pool_nodes in nodes.values() for n in pool_nodes]
    )
    items = []
    for pool in pools:
        capacity = capacity_of(nodes[pool.name])
        cap = pool_views.resources_map(capacity.vcpus, capacity.memory_bytes, capacity.gpus)
        sample = latest.get(pool.name)
        used = pool_views.resources_map(
            sample.cpu_cores if sample else 0.0, sample.memory_bytes if sample else 0, 0
        )
        if capacity.gpus:
            used["nvidia.com/gpu"] = str(
                sum(requested.get(n.name, (0.0, 0, 0))[2] for n in nodes[pool.name])
            )
        taken_at = pool_views.timestamp(sample.taken_at if sample else now)
        items.append(
            MetricsItemWire(
                table=MetricTableWire(
                    allocated=AllocatedWire(value=used, timestamp=taken_at, window="1m"),
                    capacity=CapacityWire(
                        value=cap, maxValue=cap, timestamp=pool_views.timestamp(now), window="1m"
                    ),
                ),
                metadata=MetricMetadataWire(
                    name=pool.name, labels={"os.modelarts/name": pool.display_name}
                ),
            )
        )
    return PoolMetricsListWire(items=items)


@dataclass(frozen=True, slots=True)
class MonitorQuery:
    start_ms: int
    end_ms: int
    period_s: int
    statistics: tuple[str, ...]


def parse_monitor_query(time_range: str, statistics: str, period: str, *, now: int) -> MonitorQuery:
    """``time_range`` is ``start.end.minutes`` (epoch ms, or -1 for "minutes back from
    now"); ``period`` is the bucket in seconds; ``statistics`` maximum and/or average."""
    match = _TIME_RANGE.fullmatch(time_range)
    if match is None:
        raise OpenArtsError(
            errors.POOL_BAD_REQUEST,
            f"time_range {time_range!r} must be start.end.minutes, e.g. -1.-1.60",
        )
    start, end, minutes = int(match.group(1)), int(match.group(2)), int(match.group(3))
    end = now if end == -1 else end
    start = end - minutes * 60_000 if start == -1 else start
    if not period.isdigit() or not 1 <= int(period) <= 86_400:
        raise OpenArtsError(errors.POOL_BAD_REQUEST, "period must be 1 to 86400 seconds")
    wanted = tuple(s.strip() for s in statistics.split(",") if s.strip())
    if not wanted or any(s not in ("maximum", "average") for s in wanted):
        raise OpenArtsError(errors.POOL_BAD_REQUEST, "statistics must be maximum and/or average")
    if end <= start:
        raise OpenArtsError(errors.POOL_BAD_REQUEST, "time_range ends before it starts")
    if (end - start) // (int(period) * 1000) > MAX_POINTS:
        raise OpenArtsError(
            errors.POOL_BAD_REQUEST, f"time_range / period gives more than {MAX_POINTS} points"
        )
    return MonitorQuery(start, end, int(period), wanted)


async def monitor(session: AsyncSession, pool: Pool, query: MonitorQuery) -> PoolMonitorWire:
    """CPU and memory use (percent of the pool's capacity) per period, from samples."""
    capacity = capacity_of((await nodes_of(session, [pool.name]))[pool.name])
    samples = list(
        await session.scalars(
            select(PoolSample)
            .where(
                PoolSample.pool_name == pool.name,
                PoolSample.taken_at >= query.start_ms,
                PoolSample.taken_at <= query.end_ms,
            )
            .order_by(PoolSample.taken_at)
        )
    )
    period_ms = query.period_s * 1000
    buckets: dict[int, list[PoolSample]] = {}
    for sample in samples:
        bucket = query.start_ms + (sample.taken_at - query.start_ms) // period_ms * period_ms
        buckets.setdefault(bucket, []).append(sample)

    def series(name: str, values: dict[int, list[float]]) -> MonitorSeriesWire:
        points = []
        for ts, vals in sorted(values.items()):
            stats = []
            for statistic in query.statistics:
                value = max(vals) if statistic == "maximum" else sum(vals) / len(vals)
                stats.append(StatisticWire(statistic=statistic, value=round(value, 3)))
            points.append(DataPointWire(timestamp=ts, unit="Percent", statistics=stats))
        return MonitorSeriesWire(
            metric=MetricWire(
                dimensions=[DimensionWire(name="clusterId", value=pool.name)], metricName=name
            ),
            dataPoints=points,
        )

    def percent(part: float, whole: float) -> float:
        return 100.0 * part / whole if whole > 0 else -1.0

    cpu = {
        ts: [percent(s.cpu_cores, capacity.vcpus) for s in group] for ts, group in buckets.items()
    }
    memory = {
        ts: [percent(s.memory_bytes, capacity.memory_bytes) for s in group]
        for ts, group in buckets.items()
    }
    metrics = [series("cpuUsage", cpu), series("memUsedRate", memory)]
    return PoolMonitorWire(metrics=metrics)
