"""Resource flavors, OS configuration and OS quotas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openarts import errors
from openarts.api.deps import CallerDep, CatalogDep, SessionDep, SettingsDep
from openarts.api.paging import ContinueQuery, page_metadata, page_start
from openarts.domain.flavors import Flavor, FlavorUse
from openarts.domain.labels import LabelSelectorError, parse_label_selector
from openarts.errors import OpenArtsError
from openarts.schemas.common import ERROR_RESPONSES
from openarts.schemas.resources import (
    DataVolumeWire,
    FlavorMetadata,
    GpuWire,
    OsQuotas,
    OsUserConfig,
    QuotaResource,
    QuotaSet,
    ResourceFlavor,
    ResourceFlavorList,
    ResourceFlavorSpec,
    ResourceFlavorStatus,
)
from openarts.services import os_config
from openarts.services.flavors import FlavorCatalog

router = APIRouter(prefix="/v1/{project_id}", tags=["Resource"], responses=ERROR_RESPONSES)

ZONE = "local"


def _quantity(value: float, unit: str = "") -> str:
    text = str(int(value)) if float(value).is_integer() else str(value)
    return text + unit


def _resource_flavor(catalog: FlavorCatalog, flavor: Flavor) -> ResourceFlavor:
    gpu = flavor.gpu
    return ResourceFlavor(
        metadata=FlavorMetadata(name=flavor.name, labels=catalog.labels_of(flavor)),
        spec=ResourceFlavorSpec(
            cpuArch=catalog.arch_of(flavor),
            cpu=_quantity(flavor.vcpus),
            memory=_quantity(flavor.memory_gib, "Gi"),
            gpu=GpuWire(type=gpu.type, size=str(gpu.count), memory=f"{gpu.memory_gib}Gi")
            if gpu
            else None,
            dataVolumes=[DataVolumeWire(volumeType="SSD", size=f"{flavor.disk_gib}Gi")]
            if flavor.disk_gib
            else None,
        ),
        status=ResourceFlavorStatus(
            phase={ZONE: "soldout" if catalog.unusable_reason(flavor) else "normal"}
        ),
    )


@router.get(
    "/resourceflavors",
    response_model=ResourceFlavorList,
    response_model_exclude_none=True,
    summary="Obtain resource specifications",
)
async def list_resource_flavors(
    caller: CallerDep,
    catalog: CatalogDep,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    continue_token: ContinueQuery = None,
    label_selector: Annotated[str | None, Query(alias="labelSelector", max_length=1024)] = None,
) -> ResourceFlavorList:
    try:
        selector = parse_label_selector(label_selector or "")
    except LabelSelectorError as exc:
        raise OpenArtsError(
            errors.INVALID_ARGUMENT, f"Invalid parameter: labelSelector: {exc}"
        ) from None
    flavors = [
        flavor
        for flavor in catalog.for_use(FlavorUse.POOL)
        if selector.matches(catalog.labels_of(flavor))
    ]
    start = page_start(continue_token)
    page = flavors[start : start + limit] if limit else flavors[start:]
    return ResourceFlavorList(
        metadata=page_metadata(start=start, returned=len(page), total=len(flavors)),
        items=[_resource_flavor(catalog, flavor) for flavor in page],
    )


@router.get(
    "/os-user-config", response_model=OsUserConfig, summary="Query OS configuration parameters"
)
async def show_os_config(caller: CallerDep, settings: SettingsDep) -> OsUserConfig:
    config = os_config.os_config(settings)
    return OsUserConfig(
        networkCidrs=config.network_cidrs,
        networkQuota=config.network_quota,
        poolQuota=config.pool_quota,
        pooHighAvailable=config.pool_high_available,
        maxPoolFlavors=config.max_pool_flavors,
    )


@router.get("/quotas", response_model=OsQuotas, summary="Obtain OS quotas")
async def show_os_quotas(caller: CallerDep, session: SessionDep, settings: SettingsDep) -> OsQuotas:
    usage = await os_config.os_quotas(session, settings, project_id=caller.project_id)
    return OsQuotas(
        quotas=QuotaSet(
            resources=[QuotaResource(type=u.type, quota=u.quota, used=u.used) for u in usage]
        )
    )
