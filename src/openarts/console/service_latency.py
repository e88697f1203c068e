"""A service's latency between two samples, from the gateway's histogram in the
Prometheus text of GET /metrics?project_id= (the monitor API reports no latency)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

HISTOGRAM = "openarts_inference_request_seconds"
INF = float("inf")


@dataclass(frozen=True, slots=True)
class LatencySample:
    """Running totals for one service, all its models together."""

    count: float
    sum_s: float
    # Cumulative counts by upper bound (seconds; +Inf last), as Prometheus keeps them.
    buckets: tuple[tuple[float, float], ...]


def sample_of(text: str, service_id: str) -> LatencySample:
    """The service's totals in a scrape (zeros when it has had no call yet)."""
    count = total = 0.0
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != HISTOGRAM:
            continue
        for point in family.samples:
            if point.labels.get("service_id") != service_id:
                continue
            if point.name.endswith("_count"):
                count += point.value
            elif point.name.endswith("_sum"):
                total += point.value
            elif point.name.endswith("_bucket"):
                bound = float(point.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + point.value
    return LatencySample(count, total, tuple(sorted(buckets.items())))


def largest_bound_s(sample: LatencySample) -> float | None:
    """The histogram's largest finite bound (seconds): past it, it cannot say how slow."""
    finite = [bound for bound, _ in sample.buckets if bound != INF]
    return finite[-1] if finite else None


def between(before: LatencySample, after: LatencySample) -> tuple[float | None, float | None]:
    """Mean and 95th-percentile latency in milliseconds of the calls answered between the
    two samples; (None, None) when there were none. The percentile is the upper bound of
    the bucket it falls in (what a histogram can tell); None when it falls past every
    finite bound (slower than the largest bound, by how much the histogram cannot say)."""
    calls = after.count - before.count
    if calls <= 0:
        return None, None
    mean_ms = (after.sum_s - before.sum_s) / calls * 1000
    earlier = dict(before.buckets)
    for bound, seen in after.buckets:
        if bound != INF and seen - earlier.get(bound, 0.0) >= 0.95 * calls:
            return mean_ms, bound * 1000
    return mean_ms, None
