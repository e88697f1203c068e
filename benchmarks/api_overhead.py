"""What signature verification and the project check add to a request.

One running server; signed GET /v1/{project_id}/os-user-config beside unauthenticated
GET /health, interleaved so both see the same machine. Prints requests/s, p50 and p99 for
each, and the difference at p50 (aim: under 0.5 ms).

    python benchmarks/api_overhead.py [--requests 3000] [--concurrency 16] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from openarts.security.signing import sign
from openarts.testing.server import ServerProcess


@dataclass
class Figures:
    name: str
    latencies_ms: list[float]
    throughput: float

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _one(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    async with session.get(url, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
    return (time.perf_counter() - started) * 1000


async def _throughput(
    url: str, headers: dict[str, str], concurrency: int, seconds: float, cap: int
) -> float:
    done = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline and done < cap:
                await _one(session, url, headers)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


async def measure(server: ServerProcess, requests: int, concurrency: int, seconds: float) -> None:
    row = server.credentials()
    health_url = f"{server.endpoint}/health"
    signed_url = f"{server.endpoint}/v1/{row['Project Id']}/os-user-config"
    # Signed once: a signature stays valid for 15 minutes, so the client's own hashing
    # stays out of the figures and only the server's verification is measured.
    signed = sign(
        method="GET",
        url=signed_url,
        access_key=row["Access Key Id"],
        secret_key=row["Secret Access Key"],
        headers={"Content-Type": "application/json"},
    )
    health_ms: list[float] = []
    signed_ms: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for _ in range(200):  # warm-up: connection, caches, first-call paths
            await _one(session, health_url, {})
            await _one(session, signed_url, signed)
        for _ in range(requests):
            health_ms.append(await _one(session, health_url, {}))
            signed_ms.append(await _one(session, signed_url, signed))
    health_rps = await _throughput(health_url, {}, concurrency, seconds, cap=200_000)
    signed_rps = await _throughput(signed_url, signed, concurrency, seconds, cap=200_000)

    figures = [
        Figures("GET /health (no auth)", health_ms, health_rps),
        Figures("GET os-user-config (signed)", signed_ms, signed_rps),
    ]
    print(f"{'endpoint':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for f in figures:
        print(
            f"{f.name:32} {f.throughput:9.0f} {f.percentile(0.5):8.3f} "
            f"{f.percentile(0.99):8.3f} {statistics.fmean(f.latencies_ms):8.3f}"
        )
    base, auth = figures
    print(
        f"\nsigned/health p50 ratio: {auth.percentile(0.5) / base.percentile(0.5):.2f}x; "
        f"throughput ratio: {auth.throughput / base.throughput:.2f}x"
    )
    overhead = auth.percentile(0.5) - base.percentile(0.5)
    print(f"signature + project check add {overhead:.3f} ms at p50 (aim: under 0.5 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        server = ServerProcess(
            Path(scratch) / "home", env={"OPENARTS_LOG_LEVEL": "warning"}
        ).start()
        try:
            asyncio.run(measure(server, args.requests, args.concurrency, args.seconds))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
