"""Real-time services (v1): deploy, list, show, update, delete, their monitor, update log
and events, and the specifications they deploy on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.api.deps import CallerDep, PlatformDep, SessionDep
from openarts.api.schemas.common import ERROR_RESPONSES
from openarts.api.schemas.services import (
    ServiceCreate,
    ServiceDeleteOut,
    ServiceDeployOut,
    ServiceEventOut,
    ServiceEventsOut,
    ServiceEventsQuery,
    ServiceListOut,
    ServiceListQuery,
    ServiceLogsOut,
    ServiceLogsQuery,
    ServiceMonitorOut,
    ServiceMonitorQuery,
    ServiceOut,
    ServiceUpdate,
    ServiceUpdateOut,
    SpecificationListOut,
    SpecificationQuery,
)
from openarts.api.service_views import (
    log_out,
    monitors_out,
    service_out,
    specification_out,
    summary_out,
)
from openarts.db.tables import Service
from openarts.domain.events import EventType
from openarts.domain.flavors import FlavorUse
from openarts.domain.services import RESOURCE_TYPE
from openarts.services import events as event_service
from openarts.services import inference_services as service
from openarts.services.inference_services import ServicePlatform

router = APIRouter(prefix="/v1/{project_id}", tags=["Services"], responses=ERROR_RESPONSES)


async def _service_platform(platform: PlatformDep) -> ServicePlatform:
    """The service platform, its hosts refreshed for capacity checks (a backend call,
    made before the request's session is used)."""
    reconciler = platform.reconciler
    platform.services.hosts = reconciler.hosts or await reconciler.refresh_hosts()
    return platform.services


# Declared before the session in each route: dependencies are solved in that order.
ServicePlatformDep = Annotated[ServicePlatform, Depends(_service_platform)]


def _wake(platform: PlatformDep, tasks: BackgroundTasks) -> None:
    # After the response (and so after the commit): a pass woken earlier could miss it.
    tasks.add_task(platform.service_reconciler.wake)
    tasks.add_task(platform.inference_routes.invalidate)


async def _out(session: AsyncSession, row: Service, platform: PlatformDep) -> ServiceOut:
    replicas = await service.replicas_of(session, row.id)
    models = await service.models_by_id(session, {e.model_id for e in service.entries_of(row)})
    return service_out(row, replicas, models, platform.services.endpoint)


@router.post("/services", response_model=ServiceDeployOut, summary="Deploy a service")
async def deploy_service(
    body: ServiceCreate,
    caller: CallerDep,
    services: ServicePlatformDep,
    session: SessionDep,
    platform: PlatformDep,
    tasks: BackgroundTasks,
) -> ServiceDeployOut:
    row = await service.create_service(session, services, caller, body)
    _wake(platform, tasks)
    return ServiceDeployOut(service_id=row.id, resource_ids=None)


@router.get(
    "/services",
    response_model=ServiceListOut,
    summary="List services",
    response_model_exclude_none=True,
)
async def list_services(
    query: Annotated[ServiceListQuery, Query()], caller: CallerDep, session: SessionDep
) -> ServiceListOut:
    rows, total = await service.list_services(session, caller.project_id, query)
    return ServiceListOut(
        total_count=total, count=len(rows), services=[summary_out(r) for r in rows]
    )


@router.get(
    "/services/specifications",
    response_model=SpecificationListOut,
    summary="List the specifications services deploy on",
    response_model_exclude_none=True,
)
async def list_specifications(
    query: Annotated[SpecificationQuery, Query()], caller: CallerDep, platform: PlatformDep
) -> SpecificationListOut:
    flavors = platform.catalog.for_use(FlavorUse.INFERENCE)
    page = flavors[query.offset : query.offset + query.limit]
    return SpecificationListOut(
        total_count=len(flavors),
        count=len(page),
        specifications=[specification_out(f) for f in page],
    )


@router.get(
    "/services/{service_id}",
    response_model=ServiceOut,
    summary="Show a service",
    response_model_exclude_none=True,
)
async def show_service(
    service_id: str, caller: CallerDep, session: SessionDep, platform: PlatformDep
) -> ServiceOut:
    row = await service.get_service(session, caller.project_id, service_id)
    return await _out(session, row, platform)


@router.put("/services/{service_id}", response_model=ServiceUpdateOut, summary="Update a service")
async def update_service(
    service_id: str,
    body: ServiceUpdate,
    caller: CallerDep,
    services: ServicePlatformDep,
    session: SessionDep,
    platform: PlatformDep,
    tasks: BackgroundTasks,
) -> ServiceUpdateOut:
    await service.update_service(session, services, caller, service_id, body)
    _wake(platform, tasks)
    return ServiceUpdateOut()


@router.delete(
    "/services/{service_id}", response_model=ServiceDeleteOut, summary="Delete a service"
)
async def delete_service(
    service_id: str,
    caller: CallerDep,
    session: SessionDep,
    platform: PlatformDep,
    tasks: BackgroundTasks,
) -> ServiceDeleteOut:
    await service.delete_service(session, caller.project_id, service_id)
    _wake(platform, tasks)
    return ServiceDeleteOut()


@router.get(
    "/services/{service_id}/monitor",
    response_model=ServiceMonitorOut,
    summary="Show a service's monitoring figures",
    response_model_exclude_none=True,
)
async def monitor_service(
    service_id: str,
    query: Annotated[ServiceMonitorQuery, Query()],
    caller: CallerDep,
    platform: PlatformDep,
) -> ServiceMonitorOut:
    view = await service.monitor(platform.db, platform.backend, caller.project_id, service_id)
    monitors = monitors_out(view.service, view.replicas, view.models, view.usage)
    return ServiceMonitorOut(
        service_name=view.service.name,
        service_id=view.service.id,
        monitors=monitors,
        service_running_instance_count=sum(m.model_running_instance_count or 0 for m in monitors),
        service_instance_count=sum(m.model_instance_count or 0 for m in monitors),
        req_count_per_min=platform.inference_routes.calls_last_minute(view.service.id),
    )


@router.get(
    "/services/{service_id}/logs",
    response_model=ServiceLogsOut,
    summary="Show a service's update log",
    response_model_exclude_none=True,
)
async def service_update_log(
    service_id: str,
    query: Annotated[ServiceLogsQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
) -> ServiceLogsOut:
    row = await service.get_service(session, caller.project_id, service_id)
    logs = await service.update_log(session, row.id)
    if query.update_time is not None:
        logs = [log for log in logs if log.created_at == query.update_time]
    ids = {item["model_id"] for log in logs for item in service.json_list(log.config)}
    models = await service.models_by_id(session, ids)
    return ServiceLogsOut(
        service_name=row.name, service_id=row.id, logs=[log_out(log, models) for log in logs]
    )


@router.get(
    "/services/{service_id}/events",
    response_model=ServiceEventsOut,
    summary="Show a service's events",
    response_model_exclude_none=True,
)
async def service_events(
    service_id: str,
    query: Annotated[ServiceEventsQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
) -> ServiceEventsOut:
    row = await service.get_service(session, caller.project_id, service_id)
    kind = {"normal": EventType.NORMAL, "abnormal": EventType.WARNING}.get(query.event_type or "")
    total, rows = await event_service.list_events(
        session,
        event_service.EventFilter(
            project_id=row.project_id,
            resource_type=RESOURCE_TYPE,
            resource_name=row.name,
            type=kind,
            since_ms=query.start_time,
            until_ms=query.end_time,
            ascending=query.order == "asc",
            pattern=query.event_info,
        ),
        limit=query.limit,
        offset=query.offset,
    )
    return ServiceEventsOut(
        service_name=row.name,
        service_id=row.id,
        total_count=total,
        count=len(rows),
        events=[
            ServiceEventOut(
                event_type="normal" if e.type == EventType.NORMAL else "abnormal",
                event_info=e.message,
                occur_time=e.last_timestamp,
            )
            for e in rows
        ],
    )
