"""Network resources: validated, non-overlapping CIDR records that pools name.

Pool nodes here are slices of the platform's own hosts, so a network carries no traffic
of its own; it is kept so clients that create a network before a pool work unchanged,
and its rules (allowed ranges, no overlap, no deleting one in use) hold as in the cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.db.tables import Network, Pool
from openarts.domain import pools as rules
from openarts.domain.events import EventResource
from openarts.errors import OpenArtsError
from openarts.ids import new_hex32, now_ms
from openarts.services.events import record_event
from openarts.services.paging import count_where

NAME_LABEL = "os.modelarts/name"
WORKSPACE_LABEL = "os.modelarts/workspace.id"
DESCRIPTION = "os.modelarts/description"


@dataclass(frozen=True, slots=True)
class NetworkRequest:
    display_name: str
    cidr: str
    workspace_id: str = "0"
    description: str = ""
    ipv6: bool = False
    has_connections: bool = False


def bad(message: str) -> OpenArtsError:
    return OpenArtsError(errors.POOL_BAD_REQUEST, message)


def _no_connections() -> OpenArtsError:
    return bad(
        "peering and SFS Turbo connections are not available here: pool nodes run on the "
        "platform's own hosts, so there is no VPC to connect; leave connection empty"
    )


async def create_network(
    session: AsyncSession,
    request: NetworkRequest,
    *,
    project_id: str,
    allowed: list[str],
    quota: int,
) -> Network:
    problem = rules.display_name_problem(
        request.display_name, low=4, high=32, what="network"
    ) or rules.description_problem(request.description, high=100, what="network")
    problem = problem or rules.cidr_problem(request.cidr, allowed)
    problem = problem or rules.workspace_problem(request.workspace_id)
    if problem:
        raise bad(problem)
    if request.has_connections:
        raise _no_connections()
    existing = list(await session.scalars(select(Network).where(Network.project_id == project_id)))
    if any(n.display_name == request.display_name for n in existing):
        raise bad(f"a network named {request.display_name} already exists in this project")
    if len(existing) >= quota:
        raise bad(f"the network quota ({quota}) is used up: delete a network first")
    clash = rules.overlapping(request.cidr, {n.display_name: n.cidr for n in existing})
    if clash:
        raise bad(f"cidr {request.cidr} overlaps network {clash}; choose a block that does not")
    network = Network(
        name=f"{request.display_name}-{new_hex32()}",
        project_id=project_id,
        display_name=request.display_name,
        workspace_id=request.workspace_id,
        description=request.description,
        cidr=str(request.cidr),
        ipv6=request.ipv6,
        connection="{}",
        created_at=now_ms(),
    )
    session.add(network)
    await session.flush()
    await record_event(
        session,
        project_id=project_id,
        resource_type=EventResource.NETWORKS,
        resource_name=network.name,
        reason="Created",
        message=f"network {network.display_name} created with cidr {network.cidr}",
    )
    return network


async def get_network(session: AsyncSession, *, project_id: str, name: str) -> Network:
    network = await session.get(Network, name)
    if network is None or network.project_id != project_id:
        raise OpenArtsError(errors.NETWORK_NOT_FOUND, f"Network {name} not found.")
    return network


async def find_network(session: AsyncSession, *, project_id: str, name: str) -> Network | None:
    """By generated name, or by the name the user gave it."""
    network = await session.get(Network, name)
    if network is not None and network.project_id == project_id:
        return network
    return (
        await session.scalars(
            select(Network).where(Network.project_id == project_id, Network.display_name == name)
        )
    ).first()


async def list_networks(session: AsyncSession, *, project_id: str) -> list[Network]:
    rows = await session.scalars(
        select(Network)
        .where(Network.project_id == project_id)
        .order_by(Network.created_at, Network.name)
    )
    return list(rows)


async def count_networks(session: AsyncSession, *, project_id: str) -> int:
    return await count_where(session, Network, Network.project_id == project_id)


async def update_network(
    session: AsyncSession,
    network: Network,
    *,
    description: str | None,
    workspace_id: str | None,
    ipv6: bool | None,
    has_connections: bool,
) -> Network:
    problem = (
        rules.description_problem(description, high=100, what="network") if description else None
    ) or (rules.workspace_problem(workspace_id) if workspace_id is not None else None)
    if problem:
        raise bad(problem)
    if has_connections:
        raise _no_connections()
    if ipv6 is False and network.ipv6:
        raise bad("IPv6 cannot be disabled once it is enabled on a network")
    if description is not None:
        network.description = description
    if workspace_id is not None:
        network.workspace_id = workspace_id
    if ipv6 is not None:
        network.ipv6 = ipv6
    await session.flush()
    return network


async def delete_network(session: AsyncSession, network: Network) -> int:
    users = list(
        await session.scalars(select(Pool.display_name).where(Pool.network == network.name))
    )
    if users:
        raise bad(
            f"network {network.display_name} is used by pool(s) {', '.join(sorted(users))}; "
            "delete those pools first"
        )
    deleted_at = now_ms()
    await record_event(
        session,
        project_id=network.project_id,
        resource_type=EventResource.NETWORKS,
        resource_name=network.name,
        reason="Deleted",
        message=f"network {network.display_name} deleted",
    )
    await session.delete(network)
    await session.flush()
    return deleted_at


def labels_of(network: Network) -> dict[str, str]:
    return {NAME_LABEL: network.display_name, WORKSPACE_LABEL: network.workspace_id}


def annotations_of(network: Network) -> dict[str, str]:
    return {DESCRIPTION: network.description} if network.description else {}
