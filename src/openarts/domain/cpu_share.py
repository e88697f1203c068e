"""The public pool's CPUs on a host that shares them by time (the local backend).

A process on this host is not given cores of its own: the kernel shares the CPUs out
between whatever runs. So the public pool admits CPU as a share, not a reservation: a
host's public vCPUs may be promised ``cpu_share`` times over (a setting), and a task whose
flavor asks for more than a node has at all runs capped at that node (a notebook on
modelarts.vm.cpu.8u runs on a 2-core laptop, with an event saying so, rather than
waiting forever; such a task holds all the memory it is capped at while it runs).
Memory and GPUs stay strict: promised once, since a process cannot borrow memory that
another one holds, nor share a GPU's index. Dedicated pools keep strict capacity: their
nodes are set apart, which is what a user buys them for; and while a pool holds part of
a host, the host's public remainder is strict too (public work sharing all the host's
cores would take the pool's).
"""

from __future__ import annotations

from collections.abc import Iterable

from openarts.domain.capacity import SchedulableNode
from openarts.domain.scheduling import Resources


def admission_capacity(node: SchedulableNode) -> Resources:
    """What admission may promise on ``node`` when it is empty."""
    return Resources(node.vcpus * node.cpu_share, node.memory_bytes, len(node.gpu_ids))


def largest_public_node(nodes: Iterable[SchedulableNode]) -> Resources | None:
    """The vCPUs and memory of the largest public node whose CPUs are shared, or None
    when no public node shares its CPUs (nothing is capped then)."""
    # A node with no room left caps nothing: what would be capped to nothing waits.
    shared = [
        n for n in nodes if not n.pool and n.cpu_share > 1.0 and n.vcpus > 0 and n.memory_bytes > 0
    ]
    if not shared:
        return None
    return Resources(max(n.vcpus for n in shared), max(n.memory_bytes for n in shared), 0)


def fitted(
    pool: str, needs: tuple[Resources, ...], largest: Resources | None
) -> tuple[Resources, ...]:
    """What a workload's tasks are admitted (and run) with: capped at the largest public
    node when they would never fit it, in the public pool of a host that shares its
    CPUs; as asked otherwise."""
    if pool or largest is None:
        return needs
    return tuple(
        Resources(
            min(need.vcpus, largest.vcpus),
            min(need.memory_bytes, largest.memory_bytes),
            need.gpus,
        )
        for need in needs
    )


def capped_note(asked: Resources, given: Resources) -> str:
    """The event that says a task runs smaller than its flavor; "" when it does not."""
    if asked == given:
        return ""
    return (
        f"the flavor asks for {asked.describe()} per task, more than this host's public "
        f"pool has; each task runs capped at {given.describe()}"
    )
