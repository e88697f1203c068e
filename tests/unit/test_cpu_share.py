"""The public pool's CPU share on a host that shares CPUs by time (domain/cpu_share.py)."""

from __future__ import annotations

from openarts.domain.capacity import HostNode, Slice, schedulable_nodes
from openarts.domain.cpu_share import admission_capacity, capped_note, fitted, largest_public_node
from openarts.domain.scheduling import Node, Resources, Waiting, admit

GIB = 1 << 30
HOST = HostNode("local", 2.0, 24 * GIB, (), cpu_share=4.0)
TWO = Resources(2.0, 8 * GIB)


def waiting(name: str, need: Resources, pool: str = "") -> Waiting:
    return Waiting(name, pool, 0, 0, (need,))


def free_nodes(hosts: list[HostNode], slices: list[Slice] | None = None) -> list[Node]:
    return [
        Node(n.name, n.pool, admission_capacity(n), admission_capacity(n))
        for n in schedulable_nodes(hosts, slices or [])
    ]


def test_the_public_pool_promises_its_vcpus_several_times_over_but_memory_once() -> None:
    nodes = schedulable_nodes([HOST], [])
    assert admission_capacity(nodes[0]) == Resources(8.0, 24 * GIB, 0)
    # Four 2-vCPU tasks on two cores; the fifth waits (CPU), and three 8 GiB ones fit
    # 24 GiB, a fourth would not (memory is strict).
    small = Resources(2.0, 4 * GIB)
    decision = admit(
        [waiting(f"w{i}", small) for i in range(5)], free_nodes([HOST]), now_ms=0, starvation_s=60
    )
    assert sorted(decision.admitted) == ["w0", "w1", "w2", "w3"]
    assert "waiting for 2 vCPUs" in decision.waiting["w4"]
    decision = admit(
        [waiting(f"m{i}", TWO) for i in range(4)], free_nodes([HOST]), now_ms=0, starvation_s=60
    )
    assert sorted(decision.admitted) == ["m0", "m1", "m2"]


def test_a_strict_host_reserves_its_vcpus() -> None:
    strict = HostNode("local", 2.0, 24 * GIB, ())
    decision = admit(
        [waiting("a", TWO), waiting("b", TWO)], free_nodes([strict]), now_ms=0, starvation_s=60
    )
    assert list(decision.admitted) == ["a"]
    assert largest_public_node(schedulable_nodes([strict], [])) is None


def test_what_is_larger_than_the_host_is_capped_in_the_public_pool_only() -> None:
    largest = largest_public_node(schedulable_nodes([HOST], []))
    assert largest == Resources(2.0, 24 * GIB, 0)
    huge = (Resources(8.0, 32 * GIB, 0), Resources(0.5, 1 * GIB, 0))
    assert fitted("", huge, largest) == (Resources(2.0, 24 * GIB, 0), Resources(0.5, 1 * GIB, 0))
    # A dedicated pool keeps its strict size; GPUs are never capped.
    assert fitted("pool", huge, largest) == huge
    assert fitted("", (Resources(1.0, GIB, 2),), largest) == (Resources(1.0, GIB, 2),)


def test_a_host_a_pool_holds_part_of_is_strict_for_public_work() -> None:
    """Public work sharing all the cores would take the pool's: while a pool holds part
    of the host, its public remainder is a reservation and nothing is capped."""
    nodes = schedulable_nodes([HOST], [Slice("p-0", "pool", "local", 1.0, 4 * GIB)])
    public = next(n for n in nodes if not n.pool)
    assert admission_capacity(public) == Resources(1.0, 20 * GIB, 0)
    assert largest_public_node(nodes) is None


def test_a_host_with_no_public_room_caps_nothing_to_nothing() -> None:
    """A need capped to 0 would fit anywhere and run unlimited: it waits instead."""
    room_gone = HostNode("local", 2.0, 0, (), cpu_share=4.0)
    assert largest_public_node(schedulable_nodes([room_gone], [])) is None


def test_the_capped_note_says_what_was_asked_and_what_runs() -> None:
    note = capped_note(Resources(8.0, 32 * GIB), Resources(2.0, 24 * GIB))
    assert "8 vCPUs, 32.0 GiB" in note and "capped at 2 vCPUs, 24.0 GiB" in note
    assert capped_note(TWO, TWO) == ""
