"""Wire shapes of resource flavors, OS configuration and OS quotas."""

from __future__ import annotations

from pydantic import Field

from openarts.schemas.common import ListMetadata, Shape


class FlavorMetadata(Shape):
    name: str
    labels: dict[str, str]


class GpuWire(Shape):
    type: str
    size: str
    memory: str


class DataVolumeWire(Shape):
    volumeType: str
    size: str


class ResourceFlavorSpec(Shape):
    type: str = "Dedicate"
    cpuArch: str
    cpu: str
    memory: str
    gpu: GpuWire | None = None
    dataVolumes: list[DataVolumeWire] | None = None
    billingModes: list[int] = Field(default_factory=lambda: [0])


class ResourceFlavorStatus(Shape):
    phase: dict[str, str]


class ResourceFlavor(Shape):
    apiVersion: str = "v1"
    kind: str = "ResourceFlavor"
    metadata: FlavorMetadata
    spec: ResourceFlavorSpec
    status: ResourceFlavorStatus


class ResourceFlavorList(Shape):
    apiVersion: str = "v1"
    kind: str = "ResourceFlavorList"
    metadata: ListMetadata
    items: list[ResourceFlavor]


class OsUserConfig(Shape):
    networkCidrs: list[str]
    networkQuota: int
    poolQuota: int
    pooHighAvailable: bool
    maxPoolFlavors: int


class QuotaResource(Shape):
    type: str
    quota: int
    used: int


class QuotaSet(Shape):
    resources: list[QuotaResource]


class OsQuotas(Shape):
    quotas: QuotaSet
