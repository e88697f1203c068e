"""What the inference gateway counted: calls, failures and latency per service and model.

The gateway of each server process records every call it relays here; the figures since
the process started feed /metrics, the last minute's calls the service's monitor, and the
counts are added to the service's row every second, so every process's calls show in the
service's totals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from bisect import bisect_left
from collections import defaultdict, deque
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session

from openarts.db.engine import Database
from openarts.db.tables import Service

log = logging.getLogger("openarts.gateway.inference")

FLUSH_INTERVAL_S = 1.0
# Call times kept per service for the per-minute figure (bounded, whatever the load).
RECENT_MAX = 100_000


@dataclass
class Counts:
    calls: int = 0
    failures: int = 0


# Upper bounds (seconds) of the latency histogram /metrics shows.
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class Stats:
    """What the gateway saw since it started (for /metrics), and what is not yet in the
    database (for the monitor). Keys are (service_id, model_id)."""

    calls: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    failures: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    latency_sum_s: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    # Per key, how many calls fell in each bucket (the last one: above every bound).
    latency_buckets: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    unflushed: dict[str, dict[str, Counts]] = field(default_factory=dict)


class InferenceTraffic:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.stats = Stats()
        self._flusher: asyncio.Task[None] | None = None
        self._recent: dict[str, deque[float]] = {}

    def calls_last_minute(self, service_id: str) -> int:
        """Calls this process relayed to the service in the last 60 s."""
        recent = self._recent.get(service_id)
        if not recent:
            return 0
        horizon = time.monotonic() - 60
        while recent and recent[0] < horizon:
            recent.popleft()
        return len(recent)

    def record(self, service_id: str, model_id: str, failed: bool, seconds: float) -> None:
        key = (service_id, model_id)
        recent = self._recent.setdefault(service_id, deque(maxlen=RECENT_MAX))
        recent.append(time.monotonic())
        self.stats.calls[key] += 1
        self.stats.latency_sum_s[key] += seconds
        buckets = self.stats.latency_buckets.get(key)
        if buckets is None:
            buckets = self.stats.latency_buckets[key] = [0] * (len(LATENCY_BUCKETS_S) + 1)
        buckets[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        counts = self.stats.unflushed.setdefault(service_id, {}).setdefault(model_id, Counts())
        counts.calls += 1
        if failed:
            self.stats.failures[key] += 1
            counts.failures += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_INTERVAL_S)
        await self.flush()

    async def flush(self) -> None:
        pending, self.stats.unflushed = self.stats.unflushed, {}
        if pending:
            try:
                await self.db.run_in_transaction(_add_counts, pending)
            except Exception:
                log.exception("the gateway's counts could not be saved; they are kept")
                for service_id, models in pending.items():
                    mine = self.stats.unflushed.setdefault(service_id, {})
                    for model_id, counts in models.items():
                        kept = mine.setdefault(model_id, Counts())
                        kept.calls += counts.calls
                        kept.failures += counts.failures

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()


def _add_counts(session: Session, pending: dict[str, dict[str, Counts]]) -> None:
    for service_id, models in pending.items():
        service = session.get(Service, service_id, with_for_update=True)
        if service is None:
            continue
        per_model: dict[str, list[int]] = json.loads(service.model_calls or "{}")
        calls = failures = 0
        for model_id, counts in models.items():
            before = per_model.get(model_id, [0, 0])
            per_model[model_id] = [before[0] + counts.calls, before[1] + counts.failures]
            calls += counts.calls
            failures += counts.failures
        session.execute(
            update(Service)
            .where(Service.id == service_id)
            .values(
                invocation_times=Service.invocation_times + calls,
                failed_times=Service.failed_times + failures,
                model_calls=json.dumps(per_model),
            )
        )
