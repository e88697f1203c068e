"""Wire shapes of resource pools, their nodes, tags, workloads and metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from openarts.domain.pools import PoolScope
from openarts.schemas.common import ListMetadata, Shape, WireModel

# Labels and annotations are maps with keys like "os.modelarts/name": kept as maps, with
# the keys that matter checked by the service.
StringMap = dict[str, str | int | bool | None]


class PoolNodeAzWire(WireModel):
    az: str = Field(min_length=1, max_length=64)
    count: int = Field(ge=1, le=2000)


class PoolResourceIn(WireModel):
    flavor: str = Field(min_length=1, max_length=128)
    count: int = Field(ge=0, le=2000)
    maxCount: int | None = Field(default=None, ge=0, le=2000)
    extendParams: dict[str, str] | None = None
    azs: list[PoolNodeAzWire] | None = Field(default=None, max_length=16)


class PoolNetworkWire(WireModel):
    name: str | None = Field(default=None, max_length=128)
    vpcId: str | None = Field(default=None, max_length=64)
    subnetId: str | None = Field(default=None, max_length=64)


class PoolDriverWire(WireModel):
    gpuVersion: str | None = Field(default=None, max_length=64)
    npuVersion: str | None = Field(default=None, max_length=64)
    updateStrategy: Literal["force", "idle"] | None = None


class PoolSpecIn(WireModel):
    type: Literal["Dedicate", "Logical"]
    scope: list[PoolScope] | None = Field(default=None, max_length=3)
    resources: list[PoolResourceIn] = Field(min_length=1, max_length=32)
    parent: str | None = Field(default=None, max_length=128)
    network: PoolNetworkWire | None = None
    driver: PoolDriverWire | None = None
    ipv6enable: bool | None = None


class PoolMetadataIn(WireModel):
    labels: StringMap
    annotations: StringMap | None = None


class PoolCreateIn(WireModel):
    apiVersion: Literal["v1", "v2"]
    kind: Literal["Pool"]
    metadata: PoolMetadataIn
    spec: PoolSpecIn | None = None


class PoolMetadataUpdate(WireModel):
    labels: StringMap | None = None
    annotations: StringMap | None = None


class PoolSpecUpdate(WireModel):
    scope: list[PoolScope] | None = Field(default=None, max_length=3)
    resources: list[PoolResourceIn] | None = Field(default=None, max_length=32)
    driver: PoolDriverWire | None = None


class PoolUpdateIn(WireModel):
    metadata: PoolMetadataUpdate | None = None
    spec: PoolSpecUpdate | None = None


# -- answers ------------------------------------------------------------------------------
class FlavorCountWire(Shape):
    flavor: str
    count: int
    maxCount: int | None = None
    extendParams: dict[str, str] | None = None
    azs: list[PoolNodeAzWire] | None = None


class PoolMetadataWire(Shape):
    name: str
    creationTimestamp: str
    deletionTimestamp: str | None = None
    labels: dict[str, str]
    annotations: dict[str, str]


class PoolSpecWire(Shape):
    type: str
    scope: list[str]
    resources: list[FlavorCountWire]
    network: PoolNetworkWire | None = None
    driver: PoolDriverWire | None = None
    ipv6enable: bool | None = None
    controlMode: int = 0


class PoolResourcesStatus(Shape):
    """One object per state, as the reference has it; with several flavors in a state,
    ``flavor`` names them all (comma-separated) and ``count`` is their sum."""

    creating: FlavorCountWire | None = None
    available: FlavorCountWire | None = None
    abnormal: FlavorCountWire | None = None
    deleting: FlavorCountWire | None = None


class ScopeStatusWire(Shape):
    scopeType: str
    state: str


class DriverStatusWire(Shape):
    version: str
    state: str


class PoolDriverStatus(Shape):
    gpu: DriverStatusWire | None = None


class PoolStatusWire(Shape):
    phase: str
    message: str
    resources: PoolResourcesStatus
    scope: list[ScopeStatusWire]
    driver: PoolDriverStatus | None = None
    root: str


class PoolWire(Shape):
    apiVersion: str = "v2"
    kind: str = "Pool"
    metadata: PoolMetadataWire
    spec: PoolSpecWire
    status: PoolStatusWire


class PoolListWire(Shape):
    apiVersion: str = "v2"
    kind: str = "PoolList"
    items: list[PoolWire]


class PoolStatusCounts(Shape):
    creating: int
    created: int
    failed: int


class PoolStatistics(Shape):
    status: PoolStatusCounts


class PoolStatisticsWire(Shape):
    statistics: PoolStatistics
    operationTime: str


# -- nodes --------------------------------------------------------------------------------
NodeResourceWire = dict[str, str]  # cpu, memory, nvidia.com/gpu


class NodeMetadataWire(Shape):
    name: str
    creationTimestamp: str
    labels: dict[str, str]


class NodeNetworkWire(Shape):
    vpc: str
    subnet: str
    securityGroups: list[str] = Field(default_factory=list)


class NodeSpecWire(Shape):
    flavor: str
    hostNetwork: NodeNetworkWire | None = None


class NodeStatusWire(Shape):
    phase: str
    az: str
    privateIp: str
    resources: NodeResourceWire
    availableResources: NodeResourceWire


class NodeWire(Shape):
    apiVersion: str = "v2"
    kind: str = "Node"
    metadata: NodeMetadataWire
    spec: NodeSpecWire
    status: NodeStatusWire


class NodeListWire(Shape):
    apiVersion: str = "v2"
    kind: str = "NodeList"
    metadata: ListMetadata
    items: list[NodeWire]


class NodesDeleteIn(WireModel):
    deleteNodeNames: list[str] = Field(min_length=1, max_length=2000)


# -- tags -----------------------------------------------------------------------------------
class TagIn(WireModel):
    key: str = Field(min_length=1, max_length=128)
    value: str = Field(default="", max_length=255)


class TagDeleteIn(WireModel):
    key: str = Field(min_length=1, max_length=128)
    value: str | None = Field(default=None, max_length=255)


class TagsIn(WireModel):
    tags: list[TagIn] = Field(min_length=1, max_length=20)


class TagsDeleteIn(WireModel):
    tags: list[TagDeleteIn] = Field(min_length=1, max_length=20)


class TagWire(Shape):
    key: str
    value: str


class TagsWire(Shape):
    tags: list[TagWire]


class TagValuesWire(Shape):
    key: str
    values: list[str]


class AllTagsWire(Shape):
    tags: list[TagValuesWire]


class CombineTagIn(WireModel):
    key: str = Field(min_length=1, max_length=128)
    values: list[str] = Field(max_length=200)


class MatchIn(WireModel):
    key: Literal["resource_name"]
    value: str = Field(max_length=255)


class ResourceFilterIn(WireModel):
    tags: list[CombineTagIn] | None = Field(default=None, max_length=20)
    matches: list[MatchIn] | None = Field(default=None, max_length=1)


class TaggedResourceWire(Shape):
    resource_name: str
    resource_id: str
    resource_detail: None = None
    tags: list[TagWire]


class TaggedResourcesWire(Shape):
    total_count: int
    resources: list[TaggedResourceWire]


# -- workloads ------------------------------------------------------------------------------
class WorkloadWire(Shape):
    model_config = ConfigDict(populate_by_name=True)

    apiVersion: str = "v1"
    kind: str = "Workload"
    type: str
    namespace: str
    name: str
    jobName: str
    uid: str
    jobUUID: str
    flavor: str
    status: str
    resourceRequirement: dict[str, str]
    priority: str
    runningDuration: int
    pendingDuration: int
    pendingPosition: int | None = None
    createTime: int
    gvk: str
    hostIps: str


class WorkloadListWire(Shape):
    apiVersion: str = "v1"
    kind: str = "WorkloadList"
    items: list[WorkloadWire]


class WorkloadTypeStatistics(Shape):
    type: str
    total: int
    status: dict[str, int]


class WorkloadStatisticsBody(Shape):
    total: int
    items: list[WorkloadTypeStatistics]


class WorkloadStatisticsWire(Shape):
    statistics: WorkloadStatisticsBody


# -- metrics ------------------------------------------------------------------------------
class AllocatedWire(Shape):
    value: dict[str, str]
    timestamp: str
    window: str


class CapacityWire(Shape):
    value: dict[str, str]
    maxValue: dict[str, str]
    timestamp: str
    window: str


class MetricTableWire(Shape):
    allocated: AllocatedWire
    capacity: CapacityWire


class MetricMetadataWire(Shape):
    name: str
    labels: dict[str, str] = Field(default_factory=dict)


class MetricsItemWire(Shape):
    table: MetricTableWire
    metadata: MetricMetadataWire


class PoolMetricsListWire(Shape):
    apiVersion: str = "v2"
    kind: str = "PoolMetricsList"
    items: list[MetricsItemWire]


class DimensionWire(Shape):
    name: str
    value: str


class MetricWire(Shape):
    dimensions: list[DimensionWire]
    metricName: str
    namespace: str = "PAAS.AGGR"


class StatisticWire(Shape):
    statistic: str
    value: float


class DataPointWire(Shape):
    timestamp: int
    unit: str
    statistics: list[StatisticWire]


class MonitorSeriesWire(Shape):
    metric: MetricWire
    dataPoints: list[DataPointWire]


class PoolMonitorWire(Shape):
    metrics: list[MonitorSeriesWire]


# -- plug-in templates --------------------------------------------------------------------
class PluginTemplateVersionWire(Shape):
    detail: str


class PluginTemplateSpecWire(Shape):
    type: str
    description: str
    versions: dict[str, PluginTemplateVersionWire]


class PluginTemplateMetadataWire(Shape):
    name: str


class PluginTemplateWire(Shape):
    apiVersion: str = "v1"
    kind: str = "PluginTemplate"
    metadata: PluginTemplateMetadataWire
    spec: PluginTemplateSpecWire


# -- the public pool (OpenArts' own: the reference has no route for it) ---------------------
class PublicEntryWire(Shape):
    id: str
    type: str  # train, notebook, service
    name: str
    status: str  # Pending or Running
    # Its place in the public pool's line (1 is next) while it waits.
    position: int | None = None
    # Why it waits, and what holds the pool.
    reason: str | None = None
    resources: dict[str, str]
    queued_at: str


class PublicPoolWire(Shape):
    """GET /v2/{project_id}/public-pool: the public pool's capacity, usage and line."""

    name: str = "public"
    # What its hosts have, and what it promises of it: vCPUs cpu_share times over on a
    # host that shares its CPUs by time.
    hosts: dict[str, str]
    capacity: dict[str, str]
    cpu_share: float
    used: dict[str, str]
    free: dict[str, str]
    running: int
    waiting: int
    # This project's work in it, running first, then its place in line; other projects'
    # work only counted.
    items: list[PublicEntryWire]
    others_running: int
    others_waiting: int
