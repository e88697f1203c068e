"""Admission policy: priority, FIFO, gangs, reasons, backfill and no starvation."""

from __future__ import annotations

from openarts.domain.scheduling import Decision, Node, Resources, Waiting, admit, place

GIB = 1 << 30


def cpus(n: float) -> Resources:
    return Resources(n, int(n) * GIB)


def job(name: str, *tasks: Resources, at: int = 0, priority: int = 0, pool: str = "") -> Waiting:
    return Waiting(name, pool, priority, at, tasks)


def node(name: str, free: Resources, pool: str = "", capacity: Resources | None = None) -> Node:
    return Node(name, pool, free, capacity)


def run(
    waiting: list[Waiting], nodes: list[Node], now: int = 0, starvation_s: float = 60.0
) -> Decision:
    return admit(waiting, nodes, now_ms=now, starvation_s=starvation_s)


def test_first_come_first_served_within_a_priority() -> None:
    decision = run([job("b", cpus(2), at=2), job("a", cpus(2), at=1)], [node("n", cpus(2))])
    assert list(decision.admitted) == ["a"]
    assert "waiting for 2 vCPUs" in decision.waiting["b"]
    assert "0 vCPUs, 0.0 GiB free" in decision.waiting["b"]


def test_higher_priority_goes_first() -> None:
    decision = run(
        [job("old", cpus(2), at=1), job("urgent", cpus(2), at=5, priority=3)], [node("n", cpus(2))]
    )
    assert list(decision.admitted) == ["urgent"]


def test_gangs_are_all_or_nothing() -> None:
    nodes = [node("n1", cpus(2), capacity=cpus(4)), node("n2", cpus(1), capacity=cpus(4))]
    decision = run([job("gang", cpus(2), cpus(2))], nodes)
    assert decision.admitted == {}
    assert "for 2 tasks at once" in decision.waiting["gang"]
    fits = run([job("gang", cpus(2), cpus(1))], nodes)
    assert sorted(fits.admitted["gang"]) == ["n1", "n2"]


def test_each_task_fits_on_one_node() -> None:
    # 4 vCPUs free in total, but no single node has 3.
    decision = run([job("wide", cpus(3))], [node("n1", cpus(2)), node("n2", cpus(2))])
    assert decision.admitted == {}


def test_pools_do_not_share_capacity() -> None:
    nodes = [node("pub", cpus(4)), node("ded", cpus(1), pool="pool-a")]
    decision = admit(
        [job("in-a", cpus(2), pool="pool-a")],
        nodes,
        now_ms=0,
        starvation_s=60,
        pool_names={"pool-a": "pool pool-a"},
    )
    assert decision.admitted == {}
    assert "in pool pool-a" in decision.waiting["in-a"]


def test_a_full_pool_queues_and_drains() -> None:
    queue = [job(f"j{i}", cpus(1), at=i) for i in range(5)]
    first = run(queue, [node("n", cpus(2))])
    assert list(first.admitted) == ["j0", "j1"]
    later = run(
        [q for q in queue if q.workload_id not in first.admitted], [node("n", cpus(2))], now=10
    )
    assert list(later.admitted) == ["j2", "j3"]


def test_small_jobs_backfill_past_a_blocked_large_one() -> None:
    queue = [job("large", cpus(4), at=0), job("small", cpus(1), at=1)]
    decision = run(queue, [node("n", cpus(2), capacity=cpus(4))], now=10_000, starvation_s=60)
    assert list(decision.admitted) == ["small"]
    assert "large" in decision.waiting


def test_no_starvation_after_the_head_has_waited_long_enough() -> None:
    queue = [job("large", cpus(4), at=0), job("small", cpus(1), at=1)]
    busy = node("n", cpus(2), capacity=cpus(4))
    decision = run(queue, [busy], now=61_000, starvation_s=60)
    assert decision.admitted == {}
    assert "waiting behind the workload that has waited longest" in decision.waiting["small"]
    # Other pools are not held up by it.
    other = admit(
        [*queue, job("elsewhere", cpus(1), pool="p")],
        [busy, node("m", cpus(1), pool="p")],
        now_ms=61_000,
        starvation_s=60,
    )
    assert list(other.admitted) == ["elsewhere"]


def test_gpus_are_counted() -> None:
    gpu_node = node("g", Resources(8, 32 * GIB, 1))
    decision = run(
        [job("two-gpus", Resources(1, GIB, 2)), job("one", Resources(1, GIB, 1))], [gpu_node]
    )
    assert list(decision.admitted) == ["one"]
    assert "2 GPUs" in decision.waiting["two-gpus"]


def test_placement_prefers_the_tightest_node() -> None:
    assert place((cpus(1),), {"big": cpus(8), "small": cpus(1)}) == ["small"]


def test_work_that_can_never_fit_does_not_block_its_pool() -> None:
    queue = [job("huge", cpus(1000), at=0), job("small", cpus(1), at=1)]
    nodes = [Node("n", "", cpus(1), capacity=cpus(8))]
    decision = run(queue, nodes, now=10_000_000, starvation_s=60)
    assert list(decision.admitted) == ["small"]
    assert decision.waiting["huge"].startswith("can never fit in the public pool")


def test_pools_are_windowed_separately_by_the_reconciler_not_here() -> None:
    # The scheduler itself sees whatever it is given, pool by pool.
    decision = admit(
        [job("a", cpus(1), pool="gpu"), job("b", cpus(1))],
        [node("pub", cpus(1)), node("g", Resources(0, 0), pool="gpu")],
        now_ms=0,
        starvation_s=60,
    )
    assert list(decision.admitted) == ["b"]


def test_room_left_names_the_pools_where_more_of_the_line_could_start() -> None:
    decision = run(
        [job("fits", cpus(1)), job("big", cpus(4), pool="p"), job("small", cpus(1), pool="q")],
        [node("a", cpus(2)), node("b", cpus(2), pool="p"), node("c", cpus(1), pool="q")],
    )
    assert sorted(decision.admitted) == ["fits", "small"]
    # The public pool has a vCPU left and p has two; q is full.
    assert decision.room_left == {"", "p"}


def test_a_pool_held_for_a_starving_workload_has_no_room_left() -> None:
    decision = run(
        [job("starving", cpus(4), at=0)], [node("a", cpus(2), capacity=cpus(4))], now=120_000
    )
    assert decision.admitted == {}
    assert decision.room_left == set()


def test_a_spread_gang_takes_a_node_per_task() -> None:
    nodes = {"a": cpus(4), "b": cpus(4)}
    assert place((cpus(1), cpus(1)), nodes) == ["a", "a"]  # side by side by default
    assert sorted(place((cpus(1), cpus(1)), nodes, spread=True) or []) == ["a", "b"]
    assert place((cpus(1), cpus(1), cpus(1)), nodes, spread=True) is None


def test_a_spread_gang_larger_than_the_node_count_can_never_fit() -> None:
    decision = admit(
        [job("gang", cpus(1), cpus(1), cpus(1))],
        [node("a", cpus(4)), node("b", cpus(4))],
        now_ms=0,
        starvation_s=60,
        spread=True,
    )
    assert not decision.admitted
    assert "can never fit" in decision.waiting["gang"]
