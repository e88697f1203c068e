"""Wire shapes of network resources."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from openarts.schemas.common import ListMetadata, Shape, WireModel

StringMap = dict[str, str | int | bool | None]


class PeerConnectionWire(WireModel):
    peerVpcId: str = Field(min_length=1, max_length=64)
    peerSubnetId: str = Field(min_length=1, max_length=64)
    defaultGateWay: bool | None = None


class SfsTurboConnectionWire(WireModel):
    sfsId: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128)


class NetworkConnectionWire(WireModel):
    peerConnectionList: list[PeerConnectionWire] | None = Field(default=None, max_length=16)
    sfsTurboConnectionList: list[SfsTurboConnectionWire] | None = Field(default=None, max_length=16)


class NetworkSpecIn(WireModel):
    ipv6enable: bool | None = None
    cidr: str = Field(min_length=1, max_length=43)
    connection: NetworkConnectionWire | None = None


class NetworkMetadataIn(WireModel):
    labels: StringMap
    annotations: StringMap | None = None


class NetworkCreateIn(WireModel):
    apiVersion: Literal["v1"]
    kind: Literal["Network"]
    metadata: NetworkMetadataIn
    spec: NetworkSpecIn


class NetworkMetadataUpdate(WireModel):
    labels: StringMap | None = None
    annotations: StringMap | None = None


class NetworkSpecUpdate(WireModel):
    ipv6enable: bool | None = None
    connection: NetworkConnectionWire | None = None


class NetworkUpdateIn(WireModel):
    metadata: NetworkMetadataUpdate | None = None
    spec: NetworkSpecUpdate | None = None


class NetworkMetadataWire(Shape):
    name: str
    creationTimestamp: str
    deletionTimestamp: str | None = None
    labels: dict[str, str]
    annotations: dict[str, str]


class NetworkSpecWire(Shape):
    ipv6enable: bool | None = None
    cidr: str
    connection: NetworkConnectionWire


class PeerConnectionStatusWire(Shape):
    peerVpcId: str
    peerSubnetId: str
    defaultGateWay: bool | None = None
    phase: str


class NetworkConnectionStatusWire(Shape):
    peerConnectionStatus: list[PeerConnectionStatusWire] | None = None


class NetworkStatusWire(Shape):
    phase: str
    connectionStatus: NetworkConnectionStatusWire | None = None


class NetworkWire(Shape):
    apiVersion: str = "v1"
    kind: str = "Network"
    metadata: NetworkMetadataWire
    spec: NetworkSpecWire
    status: NetworkStatusWire


class NetworkListWire(Shape):
    apiVersion: str = "v1"
    kind: str = "NetworkList"
    metadata: ListMetadata
    items: list[NetworkWire]
