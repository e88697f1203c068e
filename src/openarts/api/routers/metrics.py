"""GET /metrics: the inference figures in Prometheus' text format.

Calls, failures and latency come from this process's gateway (since it started, as
Prometheus counters expect); replicas and what they use, from the records and the
backend. Authenticated as every route (an X-Auth-Token header is what a Prometheus scrape
can send). Without a query the figures cover every project, so only administrators get
them; `?project_id=` narrows them to one project's services, for any of its members (the
console's latency chart reads them so).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from openarts import errors
from openarts.api.deps import AuthDep, BackendDep, DatabaseDep, TrafficDep
from openarts.errors import OpenArtsError
from openarts.services import inference_services as service
from openarts.services.inference_traffic import LATENCY_BUCKETS_S, Stats

router = APIRouter(tags=["Metrics"])


class _Snapshot(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


def gateway_metrics(stats: Stats, services: set[str] | None = None) -> list[Metric]:
    labels = ["service_id", "model_id"]
    calls = CounterMetricFamily(
        "openarts_inference_requests", "Calls relayed by the inference gateway", labels=labels
    )
    failures = CounterMetricFamily(
        "openarts_inference_failures",
        "Relayed calls that failed (no answer, or a 5xx one)",
        labels=labels,
    )
    latency = HistogramMetricFamily(
        "openarts_inference_request_seconds",
        "Time from a call's arrival to its answer's end, through the gateway",
        labels=labels,
    )
    for key, count in stats.calls.items():
        if services is not None and key[0] not in services:
            continue
        values = list(key)
        calls.add_metric(values, count)
        failures.add_metric(values, stats.failures.get(key, 0))
        counts = stats.latency_buckets.get(key, [])
        cumulative, running = [], 0
        for bound, seen in zip([*LATENCY_BUCKETS_S, float("inf")], counts, strict=False):
            running += seen
            cumulative.append(("+Inf" if bound == float("inf") else repr(bound), running))
        latency.add_metric(values, cumulative, stats.latency_sum_s.get(key, 0.0))
    return [calls, failures, latency]


@router.get("/metrics", include_in_schema=False)
async def metrics(
    request: Request,
    auth: AuthDep,
    db: DatabaseDep,
    backend: BackendDep,
    traffic: TrafficDep,
) -> Response:
    principal = await auth.authenticate(request)
    project_id = request.query_params.get("project_id")
    if project_id is not None:
        # Refuses a non-member (and a token of another project) as every project route does.
        await auth.in_project(principal, request, project_id)
    elif not principal.is_admin:
        raise OpenArtsError(
            errors.OPERATION_FORBIDDEN,
            "You are not authorized to perform the (GET /metrics) operation: it needs an "
            "administrator, or ?project_id= for one project's services.",
        )
    replicas = GaugeMetricFamily(
        "openarts_service_replicas",
        "Replicas of each service's models, by state",
        labels=["service_id", "model_id", "state"],
    )
    cpu = GaugeMetricFamily(
        "openarts_replica_cpu_cores",
        "CPU cores a replica uses now",
        labels=["service_id", "replica_id"],
    )
    memory = GaugeMetricFamily(
        "openarts_replica_memory_bytes",
        "Memory a replica uses now",
        labels=["service_id", "replica_id"],
    )
    views = await service.all_monitors(db, backend, project_id)
    for view in views:
        counts: dict[tuple[str, str], int] = {}
        for replica in view.replicas:
            key = (replica.model_id, replica.state)
            counts[key] = counts.get(key, 0) + 1
            used = view.usage.get(replica.id)
            if used is not None:
                cpu.add_metric([view.service.id, replica.id], used[0])
                memory.add_metric([view.service.id, replica.id], used[1])
        for (model_id, state), count in counts.items():
            replicas.add_metric([view.service.id, model_id, state], count)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        _Snapshot(
            [
                *gateway_metrics(
                    traffic.stats,
                    {view.service.id for view in views} if project_id is not None else None,
                ),
                replicas,
                cpu,
                memory,
            ]
        )
    )
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")
