"""Read-only reports on pools: their jobs and places in line, what their nodes' live tasks
asked for, usage now and over time. Plain data: the API shapes it (api/pool_views.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
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


@dataclass(frozen=True, slots=True)
class PoolWorkload:
    workload: Workload
    # Its place in the pool's line while it waits (1 is next); None once it runs.
    position: int | None

    @property
    def on_hosts(self) -> bool:
        return self.workload.status in (WorkloadStatus.RUNNING, WorkloadStatus.STOPPING)


async def pool_workloads(session: AsyncSession, pool: Pool) -> list[PoolWorkload]:
    """The pool's workloads in the order admission takes them, with their places."""
    rows = await session.scalars(
        select(Workload)
        .where(Workload.pool == pool.name, Workload.project_id == pool.project_id)
        .order_by(Workload.priority.desc(), Workload.queued_at, Workload.id)
    )
    position = 0
    items = []
    for workload in rows:
        queued = workload.status == WorkloadStatus.PENDING
        if queued:
            position += 1
        items.append(PoolWorkload(workload, position if queued else None))
    return items


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


@dataclass(frozen=True, slots=True)
class PoolUsage:
    pool: Pool
    capacity: Capacity
    # The latest sample of what the pool's tasks use (None before the first).
    sample: PoolSample | None
    # GPUs are whole devices: those handed to live tasks are the ones in use.
    gpus_in_use: int


async def runtime_usage(session: AsyncSession, *, project_id: str) -> list[PoolUsage]:
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
    requested = await requested_by_node(
        session, [n.name for pool_nodes in nodes.values() for n in pool_nodes]
    )
    return [
        PoolUsage(
            pool,
            capacity_of(nodes[pool.name]),
            latest.get(pool.name),
            sum(requested.get(n.name, (0.0, 0, 0))[2] for n in nodes[pool.name]),
        )
        for pool in pools
    ]


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
    if not (period.isascii() and period.isdigit()) or not 1 <= int(period) <= 86_400:
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


# Per metric, per period's start (epoch ms): each statistic asked for, and its value.
Series = dict[int, list[tuple[str, float]]]


async def monitor(session: AsyncSession, pool: Pool, query: MonitorQuery) -> dict[str, Series]:
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

    def percent(part: float, whole: float) -> float:
        return 100.0 * part / whole if whole > 0 else -1.0

    def series(values: dict[int, list[float]]) -> Series:
        return {
            ts: [
                (
                    statistic,
                    round(max(vals) if statistic == "maximum" else sum(vals) / len(vals), 3),
                )
                for statistic in query.statistics
            ]
            for ts, vals in sorted(values.items())
        }

    cpu = {
        ts: [percent(s.cpu_cores, capacity.vcpus) for s in group] for ts, group in buckets.items()
    }
    memory = {
        ts: [percent(s.memory_bytes, capacity.memory_bytes) for s in group]
        for ts, group in buckets.items()
    }
    return {"cpuUsage": series(cpu), "memUsedRate": series(memory)}
