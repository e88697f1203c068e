"""Network resources (v1). Creating, changing and deleting them needs an administrator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openarts import errors
from openarts.api.deps import AdminCallerDep, CallerDep, PoolChangesDep, SessionDep, SettingsDep
from openarts.api.paging import ContinueQuery, page_metadata, page_start
from openarts.api.pool_views import timestamp
from openarts.db.tables import Network
from openarts.domain.labels import LabelSelectorError, parse_label_selector
from openarts.errors import OpenArtsError
from openarts.schemas.common import ERROR_RESPONSES, required_name, text_map
from openarts.schemas.networks import (
    NetworkConnectionWire,
    NetworkCreateIn,
    NetworkListWire,
    NetworkMetadataWire,
    NetworkSpecWire,
    NetworkStatusWire,
    NetworkUpdateIn,
    NetworkWire,
)
from openarts.services import networks as network_service

router = APIRouter(prefix="/v1/{project_id}", tags=["Networks"], responses=ERROR_RESPONSES)


def _wire(network: Network, deleted_at: int | None = None) -> NetworkWire:
    return NetworkWire(
        metadata=NetworkMetadataWire(
            name=network.name,
            creationTimestamp=timestamp(network.created_at),
            deletionTimestamp=timestamp(deleted_at) if deleted_at else None,
            labels=network_service.labels_of(network),
            annotations=network_service.annotations_of(network),
        ),
        spec=NetworkSpecWire(
            ipv6enable=network.ipv6 or None,
            cidr=network.cidr,
            connection=NetworkConnectionWire(),
        ),
        status=NetworkStatusWire(phase="Active"),
    )


def _has_connections(connection: NetworkConnectionWire | None) -> bool:
    return bool(connection and (connection.peerConnectionList or connection.sfsTurboConnectionList))


@router.post(
    "/networks",
    response_model=NetworkWire,
    response_model_exclude_none=True,
    summary="Create a network",
)
async def create_network(
    body: NetworkCreateIn,
    caller: AdminCallerDep,
    changes: PoolChangesDep,
    settings: SettingsDep,
) -> NetworkWire:
    labels = text_map(body.metadata.labels)
    annotations = text_map(body.metadata.annotations)
    name = required_name(labels)
    request = network_service.NetworkRequest(
        display_name=name,
        cidr=body.spec.cidr,
        workspace_id=labels.get(network_service.WORKSPACE_LABEL, "0"),
        description=annotations.get(network_service.DESCRIPTION, ""),
        ipv6=bool(body.spec.ipv6enable),
        has_connections=_has_connections(body.spec.connection),
    )
    # One change at a time, so two overlapping networks cannot both pass the check.
    async with changes.open() as session:
        network = await network_service.create_network(
            session,
            request,
            project_id=caller.project_id,
            allowed=list(settings.network_cidrs),
            quota=settings.network_quota,
        )
        return _wire(network)


@router.get(
    "/networks",
    response_model=NetworkListWire,
    response_model_exclude_none=True,
    summary="List networks",
)
async def list_networks(
    caller: CallerDep,
    session: SessionDep,
    workspace_id: Annotated[str | None, Query(alias="workspaceId", max_length=64)] = None,
    label_selector: Annotated[str | None, Query(alias="labelSelector", max_length=1024)] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    continue_token: ContinueQuery = None,
) -> NetworkListWire:
    try:
        selector = parse_label_selector(label_selector or "")
    except LabelSelectorError as exc:
        raise OpenArtsError(errors.POOL_BAD_REQUEST, f"labelSelector: {exc}") from None
    networks = [
        n
        for n in await network_service.list_networks(session, project_id=caller.project_id)
        if (workspace_id is None or n.workspace_id == workspace_id)
        and selector.matches(network_service.labels_of(n))
    ]
    start = page_start(continue_token)
    page = networks[start : start + limit] if limit else networks[start:]
    return NetworkListWire(
        metadata=page_metadata(start=start, returned=len(page), total=len(networks)),
        items=[_wire(n) for n in page],
    )


@router.get(
    "/networks/{network_name}",
    response_model=NetworkWire,
    response_model_exclude_none=True,
    summary="Show a network",
)
async def show_network(network_name: str, caller: CallerDep, session: SessionDep) -> NetworkWire:
    network = await network_service.get_network(
        session, project_id=caller.project_id, name=network_name
    )
    return _wire(network)


@router.patch(
    "/networks/{network_name}",
    response_model=NetworkWire,
    response_model_exclude_none=True,
    summary="Update a network",
)
async def update_network(
    network_name: str, body: NetworkUpdateIn, caller: AdminCallerDep, session: SessionDep
) -> NetworkWire:
    network = await network_service.get_network(
        session, project_id=caller.project_id, name=network_name
    )
    metadata = body.metadata
    annotations = (metadata.annotations or {}) if metadata else {}
    labels = (metadata.labels or {}) if metadata else {}
    description = annotations.get(network_service.DESCRIPTION)
    workspace = labels.get(network_service.WORKSPACE_LABEL)
    await network_service.update_network(
        session,
        network,
        description=str(description) if description is not None else None,
        workspace_id=str(workspace) if workspace is not None else None,
        ipv6=body.spec.ipv6enable if body.spec else None,
        has_connections=_has_connections(body.spec.connection if body.spec else None),
    )
    return _wire(network)


@router.delete(
    "/networks/{network_name}",
    response_model=NetworkWire,
    response_model_exclude_none=True,
    summary="Delete a network",
)
async def delete_network(
    network_name: str, caller: AdminCallerDep, session: SessionDep
) -> NetworkWire:
    network = await network_service.get_network(
        session, project_id=caller.project_id, name=network_name
    )
    answer = _wire(network)
    deleted_at = await network_service.delete_network(session, network)
    answer.metadata.deletionTimestamp = timestamp(deleted_at)
    return answer
