"""How the backend's nodes are shared between dedicated pools and the public pool.

A dedicated pool's node is a *slice* of a backend node (on the local backend, of this
host): its vCPUs, memory and GPU indices are set apart for the pool. The public pool is
whatever no slice holds. Pure functions, so pool creation and admission agree on the
arithmetic and tests can check it without a server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GIB = 1 << 30


class CapacityShort(ValueError):
    """The nodes cannot hold what was asked; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class HostNode:
    """A node the backend reports, with everything it has."""

    name: str
    vcpus: float
    memory_bytes: int
    gpu_ids: tuple[int, ...] = ()
    # A pool takes this host whole: once one holds it, nothing is left for the public pool
    # or another pool (Ray's nodes; the local host is shared out in slices).
    whole: bool = False
    # How many times over the public pool may promise its vCPUs: above 1 where the
    # backend shares CPUs by time (domain/cpu_share.py).
    cpu_share: float = 1.0


@dataclass(frozen=True, slots=True)
class Slice:
    """A dedicated pool's node, carved from ``host``."""

    name: str
    pool: str
    host: str
    vcpus: float
    memory_bytes: int
    gpu_ids: tuple[int, ...] = ()
    schedulable: bool = True  # False while the node or its pool is not ready


@dataclass(frozen=True, slots=True)
class Room:
    vcpus: float
    memory_bytes: int
    gpu_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Want:
    """One node to carve: a flavor's size."""

    vcpus: float
    memory_bytes: int
    gpus: int = 0


@dataclass(frozen=True, slots=True)
class SchedulableNode:
    name: str
    pool: str  # "" for the public pool
    vcpus: float
    memory_bytes: int
    gpu_ids: tuple[int, ...]
    host: str = ""  # the backend node it is on ("" : the node is a host itself)
    cpu_share: float = 1.0  # the host's, for a public node; 1 for a pool's node


def unreserved(hosts: Iterable[HostNode], slices: Iterable[Slice]) -> dict[str, Room]:
    """What each host has left once every slice is set apart (never below zero)."""
    taken: dict[str, list[Slice]] = {}
    for piece in slices:
        taken.setdefault(piece.host, []).append(piece)
    rooms = {}
    for host in hosts:
        pieces = taken.get(host.name, [])
        if host.whole and pieces:
            rooms[host.name] = Room(0.0, 0, ())
            continue
        used_gpus = {gpu for piece in pieces for gpu in piece.gpu_ids}
        rooms[host.name] = Room(
            max(host.vcpus - sum(p.vcpus for p in pieces), 0.0),
            max(host.memory_bytes - sum(p.memory_bytes for p in pieces), 0),
            tuple(gpu for gpu in host.gpu_ids if gpu not in used_gpus),
        )
    return rooms


def carve(
    hosts: list[HostNode],
    slices: list[Slice],
    wanted: list[Want],
    *,
    overcommit: bool = False,
    in_use: dict[str, Room] | None = None,
) -> list[tuple[str, tuple[int, ...]]]:
    """Choose a host and GPU indices for each wanted node, or raise CapacityShort.

    ``in_use`` is what running public work holds on each host: a pool never takes it
    from under that work. Each node goes to the host with the most vCPUs left (spreading
    pools over hosts). With ``overcommit``, vCPUs and memory may be promised beyond what
    hosts have; GPUs never are, since a GPU index can belong to one holder only.
    """
    rooms = unreserved(hosts, slices)
    for host, used in (in_use or {}).items():
        room = rooms.get(host)
        if room is not None:
            rooms[host] = Room(
                max(room.vcpus - used.vcpus, 0.0),
                max(room.memory_bytes - used.memory_bytes, 0),
                tuple(gpu for gpu in room.gpu_ids if gpu not in used.gpu_ids),
            )
    if not rooms:
        raise CapacityShort("the backend reports no nodes to take capacity from")
    # A host taken whole serves one pool node only, and only while nothing else runs there.
    whole = {host.name for host in hosts if host.whole}
    claimed = {piece.host for piece in slices if piece.host in whole}
    claimed |= {name for name, used in (in_use or {}).items() if name in whole and _busy(used)}
    result: list[tuple[str, tuple[int, ...]]] = [("", ())] * len(wanted)
    # Largest first, so small nodes do not fragment the room a large one needs.
    order = sorted(
        range(len(wanted)),
        key=lambda i: (-wanted[i].gpus, -wanted[i].vcpus, -wanted[i].memory_bytes),
    )
    for index in order:
        want = wanted[index]
        fitting = [
            name
            for name, room in rooms.items()
            if name not in claimed
            and len(room.gpu_ids) >= want.gpus
            and (
                overcommit
                or (room.vcpus + 1e-9 >= want.vcpus and room.memory_bytes >= want.memory_bytes)
            )
        ]
        if not fitting:
            raise CapacityShort(_shortage(rooms, wanted))
        host = max(fitting, key=lambda name: (rooms[name].vcpus, name))
        room = rooms[host]
        gpus = room.gpu_ids[: want.gpus]
        rooms[host] = Room(
            max(room.vcpus - want.vcpus, 0.0),
            max(room.memory_bytes - want.memory_bytes, 0),
            room.gpu_ids[want.gpus :],
        )
        result[index] = (host, gpus)
        if host in whole:
            claimed.add(host)
    return result


def _busy(room: Room) -> bool:
    return room.vcpus > 1e-9 or room.memory_bytes > 0 or bool(room.gpu_ids)


def _shortage(rooms: dict[str, Room], wanted: list[Want]) -> str:
    need_cpu = sum(w.vcpus for w in wanted)
    need_mem = sum(w.memory_bytes for w in wanted)
    need_gpu = sum(w.gpus for w in wanted)
    free_cpu = sum(r.vcpus for r in rooms.values())
    free_mem = sum(r.memory_bytes for r in rooms.values())
    free_gpu = sum(len(r.gpu_ids) for r in rooms.values())
    asked = f"{need_cpu:g} vCPUs, {need_mem / GIB:.1f} GiB memory"
    left = f"{free_cpu:g} vCPUs, {free_mem / GIB:.1f} GiB memory"
    if need_gpu or free_gpu:
        asked += f", {need_gpu} GPUs"
        left += f", {free_gpu} GPUs"
    return (
        f"not enough free capacity: the nodes asked for need {asked} (each node on one "
        f"host), and the hosts have {left} not yet set apart for other pools; ask for fewer "
        "or smaller nodes"
    )


def schedulable_nodes(hosts: list[HostNode], slices: list[Slice]) -> list[SchedulableNode]:
    """The public remainder of every host, then every ready slice as a node of its pool."""
    rooms = unreserved(hosts, slices)
    # The public pool shares a host's CPUs by time only while no dedicated pool has set
    # part of the host apart: a pool's vCPUs are the pool's, which public work sharing
    # the whole host's cores would take from it.
    carved = {piece.host for piece in slices}
    share = {host.name: 1.0 if host.name in carved else host.cpu_share for host in hosts}
    nodes = [
        SchedulableNode(name, "", room.vcpus, room.memory_bytes, room.gpu_ids, name, share[name])
        for name, room in rooms.items()
    ]
    nodes += [
        SchedulableNode(p.name, p.pool, p.vcpus, p.memory_bytes, p.gpu_ids, p.host)
        for p in slices
        if p.schedulable
    ]
    return nodes


def format_gpu_ids(gpu_ids: Iterable[int]) -> str:
    return ",".join(str(gpu) for gpu in gpu_ids)


def parse_gpu_ids(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())
