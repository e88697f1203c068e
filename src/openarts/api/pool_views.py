"""Pools, nodes, pool workloads and pool reports as the API shows them (rows and
services/pool_reports.py's figures -> wire shapes)."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime

from openarts.db.tables import Pool, PoolNode, Workload
from openarts.domain.capacity import GIB, parse_gpu_ids
from openarts.domain.pools import NodePhase, job_type
from openarts.domain.scheduling import Resources
from openarts.domain.workloads import WorkloadStatus
from openarts.schemas.pools import (
    AllocatedWire,
    CapacityWire,
    DataPointWire,
    DimensionWire,
    DriverStatusWire,
    FlavorCountWire,
    MetricMetadataWire,
    MetricsItemWire,
    MetricTableWire,
    MetricWire,
    MonitorSeriesWire,
    NodeMetadataWire,
    NodeNetworkWire,
    NodeSpecWire,
    NodeStatusWire,
    NodeWire,
    PoolDriverStatus,
    PoolDriverWire,
    PoolMetadataWire,
    PoolMetricsListWire,
    PoolMonitorWire,
    PoolNetworkWire,
    PoolNodeAzWire,
    PoolResourcesStatus,
    PoolSpecWire,
    PoolStatusWire,
    PoolWire,
    PublicEntryWire,
    PublicPoolWire,
    ScopeStatusWire,
    StatisticWire,
    WorkloadStatisticsBody,
    WorkloadStatisticsWire,
    WorkloadTypeStatistics,
    WorkloadWire,
)
from openarts.services import pools as pool_service
from openarts.services.pool_reports import PoolUsage, PoolWorkload, Series
from openarts.services.public_pool import PublicPool
from openarts.services.workloads import decode_tasks

LOCAL_IP = "127.0.0.1"

# Workload status -> the job status the pool APIs use.
JOB_STATUS = {
    WorkloadStatus.PENDING: "Queue",
    WorkloadStatus.RUNNING: "Running",
    WorkloadStatus.STOPPING: "Terminating",
    WorkloadStatus.SUCCEEDED: "Completed",
    WorkloadStatus.FAILED: "Failed",
    WorkloadStatus.STOPPED: "Terminated",
}
JOB_STATUSES = ("Queue", "Pending", "Abnormal", "Terminating", "Creating", "Running",
                "Completed", "Terminated", "Failed")  # fmt: skip


def timestamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def quantity_cpu(vcpus: float) -> str:
    millis = round(vcpus * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def quantity_memory(memory_bytes: int) -> str:
    if memory_bytes % GIB == 0:
        return f"{memory_bytes // GIB}Gi"
    return f"{memory_bytes // (1 << 20)}Mi"


def resources_map(vcpus: float, memory_bytes: int, gpus: int) -> dict[str, str]:
    out = {"cpu": quantity_cpu(vcpus), "memory": quantity_memory(memory_bytes)}
    if gpus:
        out["nvidia.com/gpu"] = str(gpus)
    return out


def _state_count(nodes: list[PoolNode], phase: NodePhase) -> FlavorCountWire | None:
    chosen = [n for n in nodes if n.phase == phase]
    if not chosen:
        return None
    flavors = sorted({n.flavor for n in chosen})
    return FlavorCountWire(flavor=",".join(flavors), count=len(chosen), maxCount=len(chosen))


def pool_labels(pool: Pool) -> dict[str, str]:
    labels: dict[str, str] = json.loads(pool.labels)
    return labels


def pool_wire(pool: Pool, nodes: list[PoolNode], gpu_driver: str | None) -> PoolWire:
    spec = json.loads(pool.spec)
    driver = spec.get("driver")
    has_gpus = any(parse_gpu_ids(n.gpu_ids) for n in nodes)
    scope_state = "Disabling" if pool.phase == "Deleting" else "Enabled"
    return PoolWire(
        metadata=PoolMetadataWire(
            name=pool.name,
            creationTimestamp=timestamp(pool.created_at),
            deletionTimestamp=timestamp(pool.deleted_at) if pool.deleted_at else None,
            labels=json.loads(pool.labels),
            annotations=json.loads(pool.annotations),
        ),
        spec=PoolSpecWire(
            type=pool.type,
            scope=spec.get("scope", []),
            resources=[
                FlavorCountWire(
                    flavor=r["flavor"],
                    count=r["count"],
                    maxCount=r.get("maxCount", r["count"]),
                    extendParams=r.get("extendParams"),
                    azs=[PoolNodeAzWire(**az) for az in r["azs"]] if r.get("azs") else None,
                )
                for r in spec.get("resources", [])
            ],
            network=PoolNetworkWire(name=pool.network) if pool.network else None,
            driver=PoolDriverWire(**driver) if driver else None,
        ),
        status=PoolStatusWire(
            phase=pool.phase,
            message=pool.message,
            resources=PoolResourcesStatus(
                creating=_state_count(nodes, NodePhase.CREATING),
                available=_state_count(nodes, NodePhase.AVAILABLE),
                abnormal=_state_count(nodes, NodePhase.ABNORMAL),
                deleting=_state_count(nodes, NodePhase.DELETING),
            ),
            scope=[ScopeStatusWire(scopeType=s, state=scope_state) for s in spec.get("scope", [])],
            driver=PoolDriverStatus(gpu=DriverStatusWire(version=gpu_driver, state="Running"))
            if has_gpus and gpu_driver
            else None,
            root=pool.name,
        ),
    )


def node_address(host: str) -> str:
    """A node's address: a Ray node is named by it; the local host is on loopback."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return LOCAL_IP


def node_wire(
    node: PoolNode, pool: Pool, used: tuple[float, int, int], network_cidr: str | None
) -> NodeWire:
    gpus = len(parse_gpu_ids(node.gpu_ids))
    used_cpu, used_memory, used_gpus = used
    return NodeWire(
        metadata=NodeMetadataWire(
            name=node.name,
            creationTimestamp=timestamp(node.created_at),
            labels={
                "os.modelarts.node/cluster": node.host,
                "os.modelarts.node/nodepool": pool.name,
            },
        ),
        spec=NodeSpecWire(
            flavor=node.flavor,
            hostNetwork=NodeNetworkWire(vpc=pool.network or "", subnet=network_cidr or "")
            if pool.network
            else None,
        ),
        status=NodeStatusWire(
            phase=node.phase,
            az=pool_service.ZONE,
            privateIp=node_address(node.host),
            resources=resources_map(node.vcpus, node.memory_bytes, gpus),
            availableResources=resources_map(
                max(node.vcpus - used_cpu, 0.0),
                max(node.memory_bytes - used_memory, 0),
                max(gpus - used_gpus, 0),
            ),
        ),
    )


def workload_wire(
    workload: Workload, *, now: int, position: int | None, running_on_hosts: bool
) -> WorkloadWire:
    templates = decode_tasks(workload.spec)
    started = workload.started_at
    finished = workload.finished_at or now
    return WorkloadWire(
        type=job_type(workload.kind),
        namespace=workload.pool,
        name=workload.id,
        jobName=workload.resource_id,
        uid=workload.id,
        jobUUID=workload.resource_id,
        flavor="",
        status=JOB_STATUS[WorkloadStatus(workload.status)],
        resourceRequirement=resources_map(
            sum(t.vcpus for t in templates),
            sum(t.memory_bytes for t in templates),
            sum(t.gpus for t in templates),
        ),
        priority=str(workload.priority),
        runningDuration=(finished - started) // 1000 if started else 0,
        pendingDuration=((started or finished) - workload.queued_at) // 1000,
        pendingPosition=position,
        createTime=workload.created_at,
        gvk=f"openarts/v1/{workload.kind}",
        hostIps=LOCAL_IP if running_on_hosts else "",
    )


def workload_items(found: list[PoolWorkload], *, now: int) -> list[WorkloadWire]:
    return [
        workload_wire(
            item.workload, now=now, position=item.position, running_on_hosts=item.on_hosts
        )
        for item in found
    ]


def workload_statistics(items: list[WorkloadWire]) -> WorkloadStatisticsWire:
    by_type: dict[str, dict[str, int]] = {}
    for item in items:
        counts = by_type.setdefault(item.type, dict.fromkeys(JOB_STATUSES, 0))
        counts[item.status] += 1
    return WorkloadStatisticsWire(
        statistics=WorkloadStatisticsBody(
            total=len(by_type),
            items=[
                WorkloadTypeStatistics(type=kind, total=sum(counts.values()), status=counts)
                for kind, counts in sorted(by_type.items())
            ],
        )
    )


def runtime_usage_wire(usages: list[PoolUsage], *, now: int) -> PoolMetricsListWire:
    items = []
    for usage in usages:
        capacity, sample = usage.capacity, usage.sample
        taken_at = timestamp(sample.taken_at if sample else now)
        cap = resources_map(capacity.vcpus, capacity.memory_bytes, capacity.gpus)
        used = resources_map(
            sample.cpu_cores if sample else 0.0, sample.memory_bytes if sample else 0, 0
        )
        if capacity.gpus:
            used["nvidia.com/gpu"] = str(usage.gpus_in_use)
        items.append(
            MetricsItemWire(
                table=MetricTableWire(
                    allocated=AllocatedWire(value=used, timestamp=taken_at, window="1m"),
                    capacity=CapacityWire(
                        value=cap, maxValue=cap, timestamp=timestamp(now), window="1m"
                    ),
                ),
                metadata=MetricMetadataWire(
                    name=usage.pool.name, labels={"os.modelarts/name": usage.pool.display_name}
                ),
            )
        )
    return PoolMetricsListWire(items=items)


def monitor_wire(pool: Pool, metrics: dict[str, Series]) -> PoolMonitorWire:
    return PoolMonitorWire(
        metrics=[
            MonitorSeriesWire(
                metric=MetricWire(
                    dimensions=[DimensionWire(name="clusterId", value=pool.name)], metricName=name
                ),
                dataPoints=[
                    DataPointWire(
                        timestamp=ts,
                        unit="Percent",
                        statistics=[StatisticWire(statistic=s, value=v) for s, v in stats],
                    )
                    for ts, stats in series.items()
                ],
            )
            for name, series in metrics.items()
        ]
    )


def public_pool_wire(report: PublicPool) -> PublicPoolWire:
    def shown(r: Resources) -> dict[str, str]:
        return resources_map(r.vcpus, r.memory_bytes, r.gpus)

    free = report.capacity - report.held
    return PublicPoolWire(
        hosts=shown(report.hosts),
        capacity=shown(report.capacity),
        cpu_share=report.cpu_share,
        used=shown(report.held),
        free=shown(Resources(max(free.vcpus, 0.0), max(free.memory_bytes, 0), max(free.gpus, 0))),
        running=report.running,
        waiting=report.waiting,
        items=[
            PublicEntryWire(
                id=e.workload_id,
                type=e.kind,
                name=e.name,
                status="Pending" if e.position is not None else "Running",
                position=e.position,
                reason=e.reason or None,
                resources=shown(e.held),
                queued_at=timestamp(e.since_ms),
            )
            for e in report.entries
        ],
        others_running=report.others_running,
        others_waiting=report.others_waiting,
    )
