"""OS configuration and OS quotas (resource pools and networks)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from openarts.services.networks import count_networks
from openarts.services.pools import count_pools
from openarts.settings import Settings


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    type: str
    quota: int
    used: int


@dataclass(frozen=True, slots=True)
class OsConfig:
    network_cidrs: list[str]
    network_quota: int
    pool_quota: int
    pool_high_available: bool
    max_pool_flavors: int


def os_config(settings: Settings) -> OsConfig:
    return OsConfig(
        network_cidrs=list(settings.network_cidrs),
        network_quota=settings.network_quota,
        pool_quota=settings.pool_quota,
        # One control plane, no standby: a pool cannot be made highly available.
        pool_high_available=False,
        max_pool_flavors=settings.max_pool_flavors,
    )


async def os_quotas(
    session: AsyncSession, settings: Settings, *, project_id: str
) -> list[QuotaUsage]:
    return [
        QuotaUsage("pool", settings.pool_quota, await _count_pools(session, project_id)),
        QuotaUsage("network", settings.network_quota, await _count_networks(session, project_id)),
    ]


async def _count_pools(session: AsyncSession, project_id: str) -> int:
    return await count_pools(session, project_id=project_id)


async def _count_networks(session: AsyncSession, project_id: str) -> int:
    return await count_networks(session, project_id=project_id)
