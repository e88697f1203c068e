"""Scaling the API out: training-job creates per second through the official SDK with
`openarts server --workers 1` beside `--workers 2` (the anchor is one worker), over
PostgreSQL, in one run.

Each server gets a fresh database and home; --clients threads (each its own SDK client)
create jobs for --seconds, in --rounds rounds that alternate the two. The jobs queue behind
one that holds the machine, so what runs costs nothing. On a machine with the cores for
it, creates grow with the workers; on 2 cores the client threads and PostgreSQL share
them with the server, which bounds what a second worker can add.

    python benchmarks/workers.py [--seconds 10] [--rounds 2] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from openarts.storage.s3 import s3_client
from openarts.testing import databases
from openarts.testing.bench_sdk import (
    SLEEPER,
    WHOLE_MACHINE_FLAVORS,
    calls_per_second,
    create_waiting_job,
    sdk_client,
)
from openarts.testing.bench_summary import summary
from openarts.testing.server import ServerProcess, reap_tasks

BUCKET = "workers-bench"
_names = itertools.count()


def creates_per_second(server: ServerProcess, clients: int, seconds: float) -> float:
    def make_call() -> Callable[[], object]:
        client = sdk_client(server)
        return lambda: create_waiting_job(client, f"bench-{next(_names)}", BUCKET)

    return calls_per_second(make_call, clients, seconds)


@contextlib.contextmanager
def server_with(workers: int, url: str) -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        (home / "flavors.yaml").write_text(WHOLE_MACHINE_FLAVORS)
        env = {
            "OPENARTS_LOG_LEVEL": "warning",
            "OPENARTS_PUBLIC_CPU_SHARE": "1",
            "OPENARTS_DATABASE_URL": url,
            "OPENARTS_WORKERS": str(workers),
        }
        server = ServerProcess(home, env=env).start(timeout_s=90)
        try:
            row = server.credentials()
            s3 = s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="code/boot.py", Body=SLEEPER)
            yield server
        finally:
            server.stop()
            reap_tasks(home)


def measure(workers: int, url: str, clients: int, seconds: float) -> float:
    with server_with(workers, url) as server:
        return creates_per_second(server, clients, seconds)


async def measure_on_fresh_database(workers: int, clients: int, seconds: float) -> float:
    async with databases.temporary_database() as url:
        return await asyncio.to_thread(measure, workers, url, clients, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    results: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.rounds):
        for workers in (1, 2):
            results[workers].append(
                asyncio.run(measure_on_fresh_database(workers, args.clients, args.seconds))
            )
    one, two = (statistics.median(results[n]) for n in (1, 2))
    cores = psutil.cpu_count()
    print(f"creates/s through the SDK, {args.clients} clients, PostgreSQL, {cores} cores")
    print(f"  --workers 1  {one:8.1f}/s")
    print(f"  --workers 2  {two:8.1f}/s  ({two / one:.2f}x)")
    summary(
        "creates/s, 2 workers (PostgreSQL)",
        f"{two:.0f}/s",
        f"1 worker {one:.0f}/s",
        two / one,
        "grows with the cores",
    )


if __name__ == "__main__":
    main()
