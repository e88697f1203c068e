"""Ray's nodes are taken whole by dedicated pools; the local host is shared out in slices."""

from __future__ import annotations

import pytest

from openarts.domain.capacity import (
    CapacityShort,
    HostNode,
    Room,
    Slice,
    Want,
    carve,
    schedulable_nodes,
)

GIB = 1 << 30


def host(name: str, vcpus: float = 4, whole: bool = True) -> HostNode:
    return HostNode(name, vcpus, int(vcpus) * GIB, (), whole)


def test_a_pool_node_takes_a_whole_host_and_leaves_the_public_pool_nothing_there() -> None:
    hosts = [host("10.0.0.2"), host("10.0.0.3")]
    placement = carve(hosts, [], [Want(1, GIB)])
    taken = placement[0][0]
    piece = Slice("pool-node-1", "pool", taken, 1, GIB)
    nodes = {n.name: n for n in schedulable_nodes(hosts, [piece])}
    assert nodes[taken].vcpus == 0 and nodes[taken].memory_bytes == 0
    other = "10.0.0.2" if taken == "10.0.0.3" else "10.0.0.3"
    assert nodes[other].vcpus == 4
    assert nodes["pool-node-1"].host == taken and nodes[other].host == other


def test_two_pool_nodes_never_share_a_whole_host() -> None:
    hosts = [host("a"), host("b")]
    placement = carve(hosts, [], [Want(1, GIB), Want(1, GIB)])
    assert sorted(h for h, _ in placement) == ["a", "b"]
    with pytest.raises(CapacityShort):
        carve(hosts, [], [Want(1, GIB)] * 3)


def test_a_host_running_public_work_is_not_taken_whole() -> None:
    hosts = [host("a"), host("b")]
    placement = carve(hosts, [], [Want(1, GIB)], in_use={"a": Room(1, GIB, ())})
    assert placement[0][0] == "b"


def test_the_local_host_is_still_shared_out_in_slices() -> None:
    hosts = [host("local", whole=False)]
    placement = carve(hosts, [], [Want(1, GIB), Want(1, GIB)])
    assert [h for h, _ in placement] == ["local", "local"]
    pieces = [Slice(f"n{i}", "pool", "local", 1, GIB) for i in range(2)]
    public = {n.name: n for n in schedulable_nodes(hosts, pieces)}["local"]
    assert public.vcpus == 2
