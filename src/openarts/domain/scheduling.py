"""Admission: which waiting workloads start now. A pure function, so it is easy to test.

Policy (per pool):
- Order: higher priority first, then first come, first served.
- Gangs are all or nothing: every task of a workload must fit at once, each on one node.
- Backfill: a workload that fits may start ahead of an earlier one that does not, so a
  small job is not stuck behind a large one waiting for capacity.
- No starvation: once the first blocked workload has waited ``starvation_s``, nothing
  behind it in its pool may start; capacity then drains to it as running work ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Resources:
    vcpus: float = 0.0
    memory_bytes: int = 0
    gpus: int = 0

    def fits_in(self, free: Resources) -> bool:
        return (
            self.vcpus <= free.vcpus + 1e-9
            and self.memory_bytes <= free.memory_bytes
            and self.gpus <= free.gpus
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus - other.vcpus,
            self.memory_bytes - other.memory_bytes,
            self.gpus - other.gpus,
        )

    def describe(self) -> str:
        parts = [f"{self.vcpus:g} vCPUs", f"{self.memory_bytes / (1 << 30):.1f} GiB"]
        if self.gpus:
            parts.append(f"{self.gpus} GPUs")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    pool: str  # "" for the public pool
    free: Resources
    capacity: Resources | None = None  # when empty; None means the same as free


@dataclass(frozen=True, slots=True)
class Waiting:
    workload_id: str
    pool: str
    priority: int
    queued_at_ms: int
    tasks: tuple[Resources, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    admitted: dict[str, list[str]] = field(default_factory=dict)  # workload -> node per task
    waiting: dict[str, str] = field(default_factory=dict)  # workload -> why it waits
    # Pools where work behind the waiting list given could still start: a node has room
    # left, and no starving workload holds the pool.
    room_left: set[str] = field(default_factory=set)


def place(
    tasks: tuple[Resources, ...], free: dict[str, Resources], *, spread: bool = False
) -> list[str] | None:
    """Nodes for every task (largest first, best fit), or None if the gang does not fit.
    With ``spread``, each task of a gang gets a node of its own."""
    remaining = dict(free)
    used: set[str] = set()
    placement: dict[int, str] = {}
    order = sorted(
        range(len(tasks)), key=lambda i: (-tasks[i].gpus, -tasks[i].vcpus, -tasks[i].memory_bytes)
    )
    for index in order:
        need = tasks[index]
        candidates = [
            name
            for name, room in remaining.items()
            if need.fits_in(room) and not (spread and name in used)
        ]
        if not candidates:
            return None
        best = min(candidates, key=lambda name: (remaining[name].vcpus - need.vcpus, name))
        remaining[best] = remaining[best] - need
        placement[index] = best
        used.add(best)
    return [placement[i] for i in range(len(tasks))]


def admit(
    waiting: list[Waiting],
    nodes: list[Node],
    *,
    now_ms: int,
    starvation_s: float,
    pool_names: Mapping[str, str] | None = None,
    explain: bool = True,
    spread: bool = False,
) -> Decision:
    """Which waiting workloads start now, and where. With ``explain``, also why each of
    the others waits (building those sentences is most of the work when the line is long,
    so a caller that does not show them every pass can skip it)."""
    free_by_pool: dict[str, dict[str, Resources]] = {}
    capacity_by_pool: dict[str, dict[str, Resources]] = {}
    for node in nodes:
        free_by_pool.setdefault(node.pool, {})[node.name] = node.free
        capacity_by_pool.setdefault(node.pool, {})[node.name] = node.capacity or node.free
    decision = Decision()
    blocked_pools: set[str] = set()
    ordered = sorted(waiting, key=lambda w: (-w.priority, w.queued_at_ms, w.workload_id))
    first_blocked: dict[str, Waiting] = {}
    # Free room only shrinks during one call, so a shape of gang that did not fit once
    # does not fit later either; and whether a shape could ever fit does not change.
    # Long lines are mostly the same few shapes: each is placed once, not once per item.
    no_room: set[tuple[str, tuple[Resources, ...]]] = set()
    ever_fits: dict[tuple[str, tuple[Resources, ...]], bool] = {}
    reasons: dict[tuple[str, tuple[Resources, ...]], str] = {}
    for item in ordered:
        label = (pool_names or {}).get(item.pool, item.pool or "the public pool")
        if item.pool in blocked_pools:
            if explain:
                decision.waiting[item.workload_id] = (
                    # Not its name or ID: it may be another project's.
                    f"waiting behind the workload that has waited longest in {label}"
                )
            else:
                decision.waiting[item.workload_id] = ""
            continue
        shape = (item.pool, item.tasks)
        free = free_by_pool.get(item.pool, {})
        placement = None if shape in no_room else place(item.tasks, free, spread=spread)
        if placement is not None:
            for need, node_name in zip(item.tasks, placement, strict=True):
                free[node_name] = free[node_name] - need
            decision.admitted[item.workload_id] = placement
            # What is free changed: the sentences that quote it must be built again.
            for key in [k for k in reasons if k[0] == item.pool]:
                del reasons[key]
            continue
        no_room.add(shape)
        if shape not in ever_fits:
            ever_fits[shape] = (
                place(item.tasks, capacity_by_pool.get(item.pool, {}), spread=spread) is not None
            )
        if not ever_fits[shape]:
            # Not even an empty pool could hold it: it must not hold up the work behind it.
            decision.waiting[item.workload_id] = (
                (
                    f"can never fit in {label} as it is: it needs "
                    f"{_total(item.tasks).describe()} and no placement of its tasks fits the "
                    "pool's nodes even when they are empty"
                )
                if explain
                else ""
            )
            continue
        if explain:
            if shape not in reasons:
                reasons[shape] = _why(item, free, label)
            decision.waiting[item.workload_id] = reasons[shape]
        else:
            decision.waiting[item.workload_id] = ""
        if item.pool not in first_blocked:
            first_blocked[item.pool] = item
            if now_ms - item.queued_at_ms >= starvation_s * 1000:
                blocked_pools.add(item.pool)
    for pool, free in free_by_pool.items():
        if pool not in blocked_pools and any(r.vcpus > 1e-9 or r.gpus > 0 for r in free.values()):
            decision.room_left.add(pool)
    return decision


def _total(tasks: tuple[Resources, ...]) -> Resources:
    return Resources(
        sum(t.vcpus for t in tasks),
        sum(t.memory_bytes for t in tasks),
        sum(t.gpus for t in tasks),
    )


def _why(item: Waiting, free: dict[str, Resources], label: str) -> str:
    total = _total(item.tasks)
    available = Resources(
        sum(r.vcpus for r in free.values()),
        sum(r.memory_bytes for r in free.values()),
        sum(r.gpus for r in free.values()),
    )
    gang = f" for {len(item.tasks)} tasks at once" if len(item.tasks) > 1 else ""
    return f"waiting for {total.describe()}{gang} in {label}; {available.describe()} free"
