"""Costs that do not grow with the queue: a project's training jobs at N = 100, 10,000 and
100,000, on SQLite and on PostgreSQL, each size beside N = 100 (its anchor) in one run.

One real server per database. The first job takes the whole machine (its flavor asks for
every core, the public pool is one vCPU per core) and sleeps; every job after it waits, and
every fourth is terminated as soon as it is created, so the project holds queued and
finished jobs mixed. The queue is filled through the API (signed requests from
--clients concurrent clients); the table says how long each fill took. At each size:

- show: GET one job (p50 of --calls);
- list first / last: POST training-job-searches, 50 a page, the first and the last page;
- create: one more job (p50 of --calls / 4, each joining the queue);
- idle CPU: the server's CPU over --idle-seconds with no requests (%);
- freed slot: the running job terminated, to the next job in line shown Running (p50 of
  five).

On PostgreSQL each size is measured once autovacuum has been quiet for 15 s (it runs
after a bulk fill; a server that has run a while is not in those minutes).

Prints each figure at each size and its ratio to N = 100 (the aim: at most 1.5).

    python benchmarks/scale.py [--sizes 100,10000,100000] [--databases sqlite,postgresql]
        [--clients 8] [--calls 200] [--idle-seconds 10] [--fill-seconds 3600]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from openarts.security.signing import sign
from openarts.storage.s3 import s3_client
from openarts.testing import databases
from openarts.testing.bench_summary import summary
from openarts.testing.server import ServerProcess, reap_tasks

# As many vCPUs as the host has cores, with the public pool at one vCPU per core: one
# job at a time holds the machine.
FLAVORS = f"""
flavors:
  - name: scale.cpu.whole
    vcpus: {psutil.cpu_count()}
    memory_gib: 0.5
    uses: [training]
"""
BUCKET = "scale"
JOBS = "/v2/{project_id}/training-jobs"
SEARCHES = "/v2/{project_id}/training-job-searches"
PAGE = 50
# How many of the first in line the freed-slot figure watches (see freed_slot_ms).
WATCHED = 12
# Every job sleeps until it is terminated: the one running holds the machine.
BOOT = "import time\ntime.sleep(86400)\n"


def job_body(name: str) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/boot.py",
            "engine": {"engine_name": "Python"},
        },
        "spec": {"resource": {"flavor_id": "scale.cpu.whole", "node_count": 1}},
    }


class Api:
    """Signed requests over a pool of connections (the platform's own signer)."""

    def __init__(self, server: ServerProcess, connections: int) -> None:
        row = server.credentials()
        self.endpoint = server.endpoint
        self.project_id = row["Project Id"]
        self.ak = row["Access Key Id"]
        self.sk = row["Secret Access Key"]
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(timeout=60, limits=limits)

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        url = self.endpoint + path.format(project_id=self.project_id)
        content = b"" if body is None else json.dumps(body).encode()
        headers = sign(
            method=method,
            url=url,
            access_key=self.ak,
            secret_key=self.sk,
            headers={"Content-Type": "application/json"},
            body=content,
        )
        response = await self.client.request(method, url, content=content, headers=headers)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()


@dataclass
class Queue:
    """The jobs created, in order, and which of them were terminated at once."""

    ids: list[str] = field(default_factory=list)
    ended: set[str] = field(default_factory=set)
    created: int = 0


async def create(api: Api, queue: Queue) -> str:
    index = queue.created
    queue.created += 1
    job = await api.call("POST", JOBS, job_body(f"job-{index:06}"), expect=201)
    job_id: str = job["metadata"]["id"]
    queue.ids.append(job_id)
    if index % 4 == 3:
        queue.ended.add(job_id)
        await api.call("POST", f"{JOBS}/{job_id}/actions", {"action_type": "terminate"}, expect=202)
    return job_id


async def fill(api: Api, queue: Queue, target: int, clients: int, deadline: float) -> float:
    """Create jobs until ``target`` exist; seconds taken."""
    started = time.perf_counter()
    # Jobs are numbered in creation order only roughly across clients; the order in
    # line is the server's (its creation time), which the list below follows.
    lock = asyncio.Lock()

    async def client() -> None:
        while time.monotonic() < deadline:
            async with lock:
                if queue.created >= target:
                    return
            await create(api, queue)

    await asyncio.gather(*(client() for _ in range(clients)))
    if queue.created < target:
        raise RuntimeError(f"the fill ran out of time at {queue.created} of {target} jobs")
    return time.perf_counter() - started


async def p50_ms(calls: int, call: Callable[[], Any]) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def wait_running(api: Api, job_id: str, within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    while (await api.call("GET", f"{JOBS}/{job_id}"))["status"]["phase"] != "Running":
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} not Running within {within_s}s")
        await asyncio.sleep(0.05)


async def oldest(api: Api, queue: Queue, wanted: str, count: int) -> list[tuple[str, str]]:
    """(id, name) of the oldest ``count`` jobs in phase ``wanted`` not asked to end (read
    before the clock starts: a list filtered by phase is counted row by row)."""
    found = await api.call(
        "POST",
        SEARCHES,
        {
            "limit": count + 10,
            "sort_by": "create_time",
            "order": "asc",
            "filters": [{"key": "phase", "operator": "in", "value": [wanted]}],
        },
    )
    return [
        (str(item["metadata"]["id"]), str(item["metadata"]["name"]))
        for item in found["items"]
        if item["metadata"]["id"] not in queue.ended
    ][:count]


async def freed_slot_ms(api: Api, queue: Queue, within_s: float = 120) -> float:
    """Terminate the running job; time until the next in line is Running. The line is
    in the order jobs were queued, which concurrent creates may leave a few places off
    their creation order: the first few in line are watched, by name (one list call
    through the name index per look)."""
    ((current, _),) = await oldest(api, queue, "Running", 1)
    following = [name for _, name in await oldest(api, queue, "Pending", WATCHED)]
    watch = {"limit": WATCHED, "filters": [{"key": "name", "operator": "in", "value": following}]}
    started = time.perf_counter()
    await api.call("POST", f"{JOBS}/{current}/actions", {"action_type": "terminate"}, expect=202)
    queue.ended.add(current)
    deadline = time.monotonic() + within_s
    while True:
        found = await api.call("POST", SEARCHES, watch)
        if any(item["status"]["phase"] == "Running" for item in found["items"]):
            return (time.perf_counter() - started) * 1000
        if time.monotonic() > deadline:
            running = await oldest(api, queue, "Running", 5)
            raise RuntimeError(
                f"none of {following} took the freed slot within {within_s}s (running: {running})"
            )
        await asyncio.sleep(0.01)


def idle_cpu_percent(server: ServerProcess, seconds: float) -> float:
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    before = process.cpu_times()
    time.sleep(seconds)  # a benchmark measuring the idle server: nothing else to do
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100 * used / seconds


async def settle(url: str | None, quiet_s: float = 15, within_s: float = 600) -> float:
    """Wait until PostgreSQL's autovacuum has left the database alone for ``quiet_s``
    (at most ``within_s``): a filled queue is measured as a server that has run a while
    sees it, not in the minutes when the database's own upkeep of a bulk fill takes the
    CPU. Returns the seconds waited."""
    if url is None:
        return 0.0
    engine = create_async_engine(url)
    started = time.monotonic()
    quiet_since = started
    try:
        while time.monotonic() - started < within_s:
            async with engine.connect() as connection:
                busy = await connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND backend_type = 'autovacuum worker'"
                    )
                )
            now = time.monotonic()
            if busy:
                quiet_since = now
            elif now - quiet_since >= quiet_s:
                break
            await asyncio.sleep(1)
    finally:
        await engine.dispose()
    return time.monotonic() - started


async def measure(api: Api, server: ServerProcess, queue: Queue, args: Any) -> dict[str, float]:
    total = (await api.call("POST", SEARCHES, {"limit": 1}))["total"]
    some = queue.ids[len(queue.ids) // 2]
    figures = {
        "show (ms)": await p50_ms(args.calls, lambda: api.call("GET", f"{JOBS}/{some}")),
        "list first page (ms)": await p50_ms(
            args.calls // 2, lambda: api.call("POST", SEARCHES, {"limit": PAGE, "offset": 0})
        ),
        "list last page (ms)": await p50_ms(
            args.calls // 2,
            lambda: api.call("POST", SEARCHES, {"limit": PAGE, "offset": max(total - PAGE, 0)}),
        ),
        "create (ms)": await p50_ms(max(args.calls // 4, 5), lambda: create(api, queue)),
    }
    await asyncio.sleep(3)  # the creates' passes settle before the idle reading
    figures["idle CPU (%)"] = await asyncio.to_thread(idle_cpu_percent, server, args.idle_seconds)
    figures["freed slot -> next Running (ms)"] = statistics.median(
        [await freed_slot_ms(api, queue) for _ in range(5)]
    )
    return figures


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    async with databases.temporary_database() as url:
        yield url


async def run_one(kind: str, args: Any) -> tuple[dict[int, dict[str, float]], dict[int, float]]:
    sizes = sorted(int(size) for size in args.sizes.split(","))
    results: dict[int, dict[str, float]] = {}
    fills: dict[int, float] = {}
    async with database(kind) as url:
        home = Path(tempfile.mkdtemp(prefix="openarts-scale-")) / "home"
        home.mkdir()
        (home / "flavors.yaml").write_text(FLAVORS)
        # The public pool is the host's cores, no more: the capped job takes all of it.
        env = {"OPENARTS_LOG_LEVEL": "warning", "OPENARTS_PUBLIC_CPU_SHARE": "1"}
        if url is not None:
            env["OPENARTS_DATABASE_URL"] = url
        server = ServerProcess(home, env=env).start(timeout_s=60)
        try:
            api = Api(server, args.clients)
            row = server.credentials()
            s3 = s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="code/boot.py", Body=BOOT.encode())
            queue = Queue()
            first = await create(api, queue)
            await wait_running(api, first)
            deadline = time.monotonic() + args.fill_seconds
            for size in sizes:
                fills[size] = await fill(api, queue, size, args.clients, deadline)
                waited = await settle(url)
                print(
                    f"[{kind}] {size:,} jobs: filled in {fills[size]:.0f} s; measuring"
                    + (f" (after {waited:.0f} s for autovacuum to finish)" if url else ""),
                    file=sys.stderr,
                    flush=True,
                )
                results[size] = await measure(api, server, queue, args)
            await api.client.aclose()
        except BaseException:
            print(server.log()[-4000:], file=sys.stderr)
            raise
        finally:
            server.stop()
            reap_tasks(home)
            # A home of 100,000 jobs is half a gigabyte: nothing of it is kept.
            shutil.rmtree(home.parent, ignore_errors=True)
    return results, fills


def print_table(kind: str, results: dict[int, dict[str, float]], fills: dict[int, float]) -> None:
    sizes = sorted(results)
    anchor = sizes[0]
    print(f"\n{kind}: training jobs in one project (each size beside N = {anchor:,})")
    header = f"{'':34}" + "".join(f"{f'N={n:,}':>12}" for n in sizes)
    header += "".join(f"{f'x {n:,}':>10}" for n in sizes[1:])
    print(header)
    for name in results[anchor]:
        values = [results[n][name] for n in sizes]
        line = f"{name:34}" + "".join(f"{v:12.2f}" for v in values)
        base = values[0] or 1e-9
        line += "".join(f"{v / base:10.2f}" for v in values[1:])
        print(line)
    largest = sizes[-1]
    for name in results[anchor]:
        value, base = results[largest][name], results[anchor][name]
        summary(
            f"{kind}: {name} at N={largest:,}",
            f"{value:.2f}",
            f"N={anchor:,}: {base:.2f}",
            value / (base or 1e-9),
            "<= 1.5x",
        )
    previous = 0
    for n in sizes:
        created = n - previous
        rate = created / max(fills[n], 1e-9)
        print(f"  filled to {n:,}: {fills[n]:.0f} s ({rate:.0f} creates/s)")
        previous = n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--fill-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    for kind in args.databases.split(","):
        results, fills = asyncio.run(run_one(kind, args))
        print_table(kind, results, fills)


if __name__ == "__main__":
    main()
