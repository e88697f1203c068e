"""Wire shapes of resource flavors, OS configuration and OS quotas."""

from __future__ import annotations

from pydantic import BaseModel, Field

from openarts.schemas.common import ListMetadata


class FlavorMetadata(BaseModel):
    name: str
    labels: dict[str, str]


class GpuWire(BaseModel):
    type: str
    size: str
    memory: str


class DataVolumeWire(BaseModel):
    volumeType: str
    size: str


class ResourceFlavorSpec(BaseModel):
    type: str = "Dedicate"
    cpuArch: str
    cpu: str
    memory: str
    gpu: GpuWire | None = None
    dataVolumes: list[DataVolumeWire] | None = None
    billingModes: list[int] = Field(default_factory=lambda: [0])


class ResourceFlavorStatus(BaseModel):
    phase: dict[str, str]


class ResourceFlavor(BaseModel):
    apiVersion: str = "v1"
    kind: str = "ResourceFlavor"
    metadata: FlavorMetadata
    spec: ResourceFlavorSpec
    status: ResourceFlavorStatus


class ResourceFlavorList(BaseModel):
    apiVersion: str = "v1"
    kind: str = "ResourceFlavorList"
    metadata: ListMetadata
    items: list[ResourceFlavor]


class OsUserConfig(BaseModel):
    networkCidrs: list[str]
    networkQuota: int
    poolQuota: int
    pooHighAvailable: bool
    maxPoolFlavors: int


class QuotaResource(BaseModel):
    type: str
    quota: int
    used: int


class QuotaSet(BaseModel):
    resources: list[QuotaResource]


class OsQuotas(BaseModel):
    quotas: QuotaSet
