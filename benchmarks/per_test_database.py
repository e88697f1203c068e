"""What a test pays for its own database: a copy of a template migrated once per run,
beside what it paid before, a fresh database migrated for it.

Both ways on SQLite (a file copy against a migration) and on PostgreSQL (CREATE DATABASE
… TEMPLATE against CREATE DATABASE and a migration), interleaved so both see the same
machine. Prints the median and p90 of each, per dialect, and how many times faster the
copy is. Needs PostgreSQL on 127.0.0.1:5432 (OPENARTS_TEST_POSTGRES_DSN) for its half;
OPENARTS_TEST_SKIP_POSTGRES=1 leaves it out.

    python benchmarks/per_test_database.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from openarts.testing import databases


async def _timed(work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return (time.perf_counter() - started) * 1000


def _line(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"  {name:<34} median {statistics.median(samples):7.1f} ms   p90 {p90:7.1f} ms"


async def sqlite(rounds: int, folder: Path) -> tuple[list[float], list[float]]:
    template = folder / "template.db"
    await databases.migrate(f"sqlite+aiosqlite:///{template}")
    copies, migrations = [], []
    for index in range(rounds):
        target = folder / f"copy-{index}.db"

        async def copy(target: Path = target) -> None:
            await asyncio.to_thread(shutil.copyfile, template, target)

        async def fresh(url: str = f"sqlite+aiosqlite:///{folder / f'fresh-{index}.db'}") -> None:
            await databases.migrate(url)

        copies.append(await _timed(copy))
        migrations.append(await _timed(fresh))
    return copies, migrations


async def postgresql(rounds: int) -> tuple[list[float], list[float]]:
    template = await databases.make_template()
    copies, migrations = [], []
    try:
        for _ in range(rounds):

            async def copy() -> None:
                async with databases.temporary_database(template=template):
                    pass

            async def fresh() -> None:
                async with databases.temporary_database() as url:
                    await databases.migrate(url)

            copies.append(await _timed(copy))
            migrations.append(await _timed(fresh))
    finally:
        await databases.drop_database(template)
    return copies, migrations


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, 200))
    print(f"a test's own database, {rounds} rounds each way")
    with tempfile.TemporaryDirectory() as folder:
        copies, migrations = await sqlite(rounds, Path(folder))
    print("SQLite")
    print(_line("OpenArts: copy of the template", copies))
    print(_line("before: migrate a fresh database", migrations))
    print(f"  copy is {statistics.median(migrations) / statistics.median(copies):.0f}x faster")
    if os.environ.get("OPENARTS_TEST_SKIP_POSTGRES") == "1":
        return
    copies, migrations = await postgresql(rounds)
    print("PostgreSQL (the database is dropped after each, in both)")
    print(_line("OpenArts: CREATE DATABASE … TEMPLATE", copies))
    print(_line("before: CREATE DATABASE + migrate", migrations))
    print(f"  copy is {statistics.median(migrations) / statistics.median(copies):.1f}x faster")


if __name__ == "__main__":
    asyncio.run(main())
