"""Scheduling overhead: many trivial tasks through 4 slots, beside bare subprocesses.

1,000 tasks (`python -c pass`, by absolute path) go through the workload reconciler and
the local backend with a pool of 4 one-vCPU slots; the same 1,000 commands also run as
bare subprocesses, 4 at a time, in the same run. Prints the platform's overhead per task
(its extra slot-time per task over the bare run) and the submit-to-process-start latency
(p50/p95, measured with free capacity) beside the bare spawn latency.

The platform's time runs from the first submission (the workload service's core, in
process, each in a transaction of its own; no HTTP) to the last task's end, so queueing,
admission, starting, watching and recording every task are all counted.

    python benchmarks/scheduler.py [--tasks 1000] [--latency-samples 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from openarts.backends.local.backend import LocalBackend
from openarts.db.engine import Database
from openarts.db.tables import Workload
from openarts.domain.workloads import WorkloadStatus
from openarts.hostinfo import HostInfo
from openarts.reconcile.workloads import WorkloadReconciler
from openarts.services import identity
from openarts.services import workloads as service

SLOTS = 4
COMMAND = [sys.executable, "-c", "pass"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bare_batch(count: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(SLOTS) as pool:
        list(pool.map(lambda _: subprocess.run(COMMAND, check=True), range(count)))
    return time.perf_counter() - started


# The task writes the time it started running Python code; the same command is used bare.
STAMP = [sys.executable, "-c", "import sys, time; open(sys.argv[1], 'w').write(repr(time.time()))"]


def bare_spawn_latency(samples: int, scratch: Path) -> list[float]:
    latencies = []
    for index in range(samples):
        stamp = scratch / f"bare-{index}"
        before = time.time()
        subprocess.run([*STAMP, str(stamp)], check=True)
        latencies.append((float(stamp.read_text()) - before) * 1000)
    return latencies


async def submit(
    db: Database, project_id: str, name: str, workdir: Path, command: list[str] = COMMAND
) -> str:
    workload = await db.run_in_transaction(
        service.submit_workload_sync,
        project_id=project_id,
        kind="bench",
        resource_id=name,
        tasks=[service.TaskTemplate(command, str(workdir), vcpus=1, memory_bytes=0)],
    )
    return workload.id


async def unfinished_count(db: Database) -> int:
    # Counts the few unfinished rows through the status index, not the many finished
    # ones: the watcher's own cost stays out of the figure as far as it can.
    async with db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Workload)
            .where(Workload.status.in_([s.value for s in UNFINISHED]))
        )
        return int(count or 0)


UNFINISHED = [s for s in WorkloadStatus if not s.finished]


async def platform_run(scratch: Path, tasks: int, samples: int) -> tuple[float, list[float]]:
    db = Database(f"sqlite+aiosqlite:///{scratch / 'bench.db'}")
    await db.migrate()
    async with db.session() as session, session.begin():
        domain = await identity.create_domain(session, "bench")
        project = await identity.create_project(session, domain_id=domain.id, name="bench")
    host = HostInfo(cpus=SLOTS, memory_bytes=64 << 30, arch="x86")
    backend = LocalBackend(scratch / "tasks", host)
    # The figure depends on it: attaching each task to its cgroups costs time.
    enforced = "enforced" if backend.limits_enforced else "accounted only"
    print(f"task memory/CPU limits: {enforced} ({backend.limits_reason})")
    reconciler = WorkloadReconciler(db, backend, interval_s=0.5)
    backend.on_exit = reconciler.wake
    gc.freeze()  # as the server does once it has started
    loop = asyncio.create_task(reconciler.run_forever())
    try:
        started = time.perf_counter()
        for index in range(tasks):
            await submit(db, project.id, f"t{index}", scratch)
        reconciler.wake()
        deadline = time.monotonic() + 600
        while await unfinished_count(db) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the tasks did not finish in 10 minutes")
            await asyncio.sleep(0.05)
        total = time.perf_counter() - started

        latencies = []
        for index in range(samples):
            stamp = scratch / f"platform-{index}"
            submitted = time.time()
            await submit(db, project.id, f"l{index}", scratch, [*STAMP, str(stamp)])
            reconciler.wake()
            while not stamp.exists() or not stamp.read_text():
                if time.time() - submitted > 60:
                    raise TimeoutError("a task did not start within a minute")
                await asyncio.sleep(0.001)
            latencies.append((float(stamp.read_text()) - submitted) * 1000)
            while await unfinished_count(db) > 0:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        return total, latencies
    finally:
        loop.cancel()
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=100)
    args = parser.parse_args()
    bare_total = bare_batch(args.tasks)
    with tempfile.TemporaryDirectory() as folder:
        bare_latency = bare_spawn_latency(args.latency_samples, Path(folder))
        total, latency = asyncio.run(platform_run(Path(folder), args.tasks, args.latency_samples))
    overhead_ms = (total - bare_total) * SLOTS / args.tasks * 1000
    print(f"{args.tasks} tasks of `python -c pass`, {SLOTS} slots\n")
    print(f"{'':34} {'total s':>8} {'per task ms':>12}")
    print(
        f"{'bare subprocesses, 4 at a time':34} {bare_total:8.2f} "
        f"{bare_total * SLOTS / args.tasks * 1000:12.1f}"
    )
    print(
        f"{'OpenArts reconciler + local backend':34} {total:8.2f} "
        f"{total * SLOTS / args.tasks * 1000:12.1f}"
    )
    print(f"\nplatform overhead per task: {overhead_ms:.1f} ms of slot time (aim: under 20 ms)")
    print(f"\n{'start latency, ms':34} {'p50':>8} {'p95':>8}")
    print(
        f"{'bare: spawn to first line of code':34} {percentile(bare_latency, 0.5):8.1f} "
        f"{percentile(bare_latency, 0.95):8.1f}"
    )
    print(
        f"{'OpenArts: submit to first line':34} {percentile(latency, 0.5):8.1f} "
        f"{percentile(latency, 0.95):8.1f}"
    )
    ratio = statistics.median(latency) / max(statistics.median(bare_latency), 1e-6)
    print(f"\nstart latency ratio at p50: {ratio:.1f}x the bare spawn (aim: under 5x)")


if __name__ == "__main__":
    main()
