"""A training task's metrics: its samples averaged per minute of the job's run."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.db.tables import TrainingJob, TrainingSample
from openarts.domain.training_plan import Plan
from openarts.ids import now_ms

MINUTE_MS = 60_000
METRICS = ("cpuUsage", "memUsage", "gpuUtil", "gpuMemUsage", "npuUtil", "npuMemUsage")
# The reference's mark for a minute without a value.
NO_VALUE = -1.0


async def task_metrics(
    session: AsyncSession, job: TrainingJob, task: str, gpu_memory_bytes: int | None
) -> dict[str, list[float]]:
    """Per metric, one value per minute since the job started: cpuUsage in percent of
    the flavor's vCPUs, memUsage and gpuMemUsage in percent of its memory, gpuUtil as the
    task's GPUs report it. There are no NPUs: those stay -1."""
    plan = Plan.model_validate_json(job.plan)
    if job.started_at is None:
        return {name: [] for name in METRICS}
    end = job.finished_at or now_ms()
    minutes = max(1, math.ceil((end - job.started_at) / MINUTE_MS))
    # Per minute: cpu, memory, GPU memory, samples, GPU memory samples, GPU busy, its samples.
    sums = [[0.0, 0.0, 0.0, 0, 0, 0.0, 0] for _ in range(minutes)]
    rows = await session.execute(
        select(
            TrainingSample.taken_at,
            TrainingSample.cpu_percent,
            TrainingSample.memory_bytes,
            TrainingSample.gpu_memory_bytes,
            TrainingSample.gpu_percent,
        )
        .where(TrainingSample.job_id == job.id, TrainingSample.task == task)
        .order_by(TrainingSample.taken_at)
    )
    for taken_at, cpu, memory, gpu_memory, gpu_busy in rows:
        index = min(minutes - 1, max(0, (taken_at - job.started_at) // MINUTE_MS))
        bucket = sums[index]
        bucket[0] += cpu
        bucket[1] += memory
        bucket[3] += 1
        if gpu_memory is not None:
            bucket[2] += gpu_memory
            bucket[4] += 1
        if gpu_busy is not None:
            bucket[5] += gpu_busy
            bucket[6] += 1

    def average(total: float, count: float, whole: float) -> float:
        return round(total / count / whole * 100, 3) if count and whole else NO_VALUE

    return {
        "cpuUsage": [average(b[0] / 100, b[3], plan.vcpus) for b in sums],
        "memUsage": [average(b[1], b[3], plan.memory_bytes) for b in sums],
        "gpuUtil": [round(b[5] / b[6], 3) if b[6] else NO_VALUE for b in sums],
        "gpuMemUsage": [average(b[2], b[4], gpu_memory_bytes or 0) for b in sums],
        "npuUtil": [NO_VALUE] * minutes,
        "npuMemUsage": [NO_VALUE] * minutes,
    }
