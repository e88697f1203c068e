"""The pool reconciler: brings pool nodes up, removes deleted ones, samples usage.

Run by the workload reconciler's loop at the start of each pass (admission depends on the
nodes it makes ready), with the host inventory that pass read from the backend.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.backends.base import ComputeBackend, TaskHandle
from openarts.db.engine import Database
from openarts.db.tables import Pool, PoolNode, PoolSample, WorkloadTask
from openarts.domain.capacity import HostNode
from openarts.domain.events import EventType
from openarts.domain.pools import NodePhase, PoolPhase
from openarts.ids import now_ms
from openarts.services import pools as pool_service

log = logging.getLogger("openarts.reconcile.pools")

SAMPLE_RETENTION_MS = 24 * 3600 * 1000
_LIVE_TASKS = ("starting", "running")


class PoolReconciler:
    def __init__(
        self,
        db: Database,
        backend: ComputeBackend,
        *,
        sample_interval_s: float = 15.0,
        change_lock: asyncio.Lock | None = None,
    ) -> None:
        self.db = db
        self.backend = backend
        # Shared with the API: a pass never writes over a change made meanwhile.
        self.change_lock = change_lock or asyncio.Lock()
        self.sample_interval_s = sample_interval_s
        self._sampled_at = -sample_interval_s

    async def run_once(self, hosts: list[HostNode]) -> None:
        async with pool_service.pool_change(self.db, self.change_lock) as session:
            await self._settle(session, {host.name for host in hosts})
        if time.monotonic() - self._sampled_at >= self.sample_interval_s:
            self._sampled_at = time.monotonic()
            await self.sample()

    async def _settle(self, session: AsyncSession, hosts: set[str]) -> None:
        pools = {p.name: p for p in await session.scalars(select(Pool))}
        if not pools:
            return
        nodes = list(await session.scalars(select(PoolNode)))
        busy = await pool_service.busy_nodes(session, [n.name for n in nodes])
        by_pool: dict[str, list[PoolNode]] = {name: [] for name in pools}
        for node in nodes:
            pool = pools[node.pool_name]
            if pool.phase == PoolPhase.DELETING and node.phase != NodePhase.DELETING:
                node.phase = NodePhase.DELETING.value  # every node of a pool being deleted goes
            if node.phase == NodePhase.DELETING:
                if not busy.get(node.name):
                    await session.delete(node)
                    if pool.phase != PoolPhase.DELETING:
                        await pool_service.pool_event(
                            session, pool, "NodeDeleted", f"node {node.name} removed"
                        )
                    continue
            elif node.host not in hosts and node.phase != NodePhase.ABNORMAL:
                node.phase = NodePhase.ABNORMAL.value
                await pool_service.pool_event(
                    session,
                    pool,
                    "NodeAbnormal",
                    f"node {node.name} is abnormal: host {node.host} is gone from the backend",
                    EventType.WARNING,
                )
            elif node.host in hosts and node.phase in (NodePhase.CREATING, NodePhase.ABNORMAL):
                node.phase = NodePhase.AVAILABLE.value
                await pool_service.pool_event(
                    session, pool, "NodeAvailable", f"node {node.name} is available"
                )
            by_pool[pool.name].append(node)
        await session.flush()
        for name, pool in pools.items():
            await self._settle_pool(session, pool, by_pool[name])

    async def _settle_pool(self, session: AsyncSession, pool: Pool, nodes: list[PoolNode]) -> None:
        phase = PoolPhase(pool.phase)
        if phase is PoolPhase.DELETING:
            if not nodes:
                await pool_service.pool_event(session, pool, "Deleted", "pool deleted")
                await session.execute(delete(PoolSample).where(PoolSample.pool_name == pool.name))
                await session.delete(pool)
            return
        live = [n for n in nodes if n.phase != NodePhase.DELETING]
        abnormal = [n.name for n in live if n.phase == NodePhase.ABNORMAL]
        creating = [n for n in live if n.phase == NodePhase.CREATING]
        if phase is PoolPhase.CREATING and not creating:
            if abnormal:
                await pool_service.switch_pool_phase(
                    session,
                    pool,
                    PoolPhase.CREATION_FAILED,
                    f"node(s) {', '.join(abnormal)} could not be brought up",
                    event_type=EventType.WARNING,
                )
            else:
                await pool_service.switch_pool_phase(
                    session, pool, PoolPhase.RUNNING, f"{len(live)} node(s) available"
                )
        elif phase is PoolPhase.RUNNING and abnormal:
            await pool_service.switch_pool_phase(
                session,
                pool,
                PoolPhase.ABNORMAL,
                f"node(s) {', '.join(abnormal)} are abnormal",
                event_type=EventType.WARNING,
            )
        elif phase is PoolPhase.ABNORMAL and not abnormal:
            await pool_service.switch_pool_phase(
                session, pool, PoolPhase.RUNNING, f"{len(live)} node(s) available"
            )

    async def sample(self) -> None:
        """Record each dedicated pool's measured usage (what its live tasks use now)."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(WorkloadTask.id, WorkloadTask.handle, PoolNode.pool_name)
                    .join(PoolNode, PoolNode.name == WorkloadTask.node)
                    .where(WorkloadTask.status.in_(_LIVE_TASKS), WorkloadTask.handle.is_not(None))
                )
            ).all()
            pools = list(
                await session.scalars(select(Pool.name).where(Pool.phase != PoolPhase.DELETING))
            )
        if not pools:
            return
        handles: dict[str, TaskHandle] = {}
        pool_of: dict[str, str] = {}
        for task_id, handle_json, pool_name in rows:
            if handle_json is None:
                continue
            try:
                handles[task_id] = TaskHandle.from_json(handle_json)
            except Exception:
                continue
            pool_of[task_id] = pool_name
        try:
            samples = await self.backend.sample(list(handles.values())) if handles else {}
        except Exception:
            log.exception("sampling pool usage failed; trying again later")
            return
        totals: dict[str, list[float]] = {name: [0.0, 0.0, 0.0] for name in pools}
        gpu_seen: set[str] = set()
        for task_id, sample in samples.items():
            pool_total = totals.get(pool_of.get(task_id, ""))
            if pool_total is None:
                continue
            pool_total[0] += sample.cpu_percent / 100
            pool_total[1] += sample.memory_bytes
            if sample.gpu_memory_bytes is not None:
                pool_total[2] += sample.gpu_memory_bytes
                gpu_seen.add(pool_of[task_id])
        now = now_ms()
        async with self.db.session() as session, session.begin():
            existing = set(
                await session.scalars(select(Pool.name).where(Pool.name.in_(list(totals))))
            )
            for name, (cpu, memory, gpu_memory) in totals.items():
                if name in existing:
                    session.add(
                        PoolSample(
                            pool_name=name,
                            taken_at=now,
                            cpu_cores=cpu,
                            memory_bytes=int(memory),
                            gpu_memory_bytes=int(gpu_memory) if name in gpu_seen else None,
                        )
                    )
            await session.execute(
                delete(PoolSample).where(PoolSample.taken_at < now - SAMPLE_RETENTION_MS)
            )
