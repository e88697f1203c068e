"""Real-time services (v1): deploy, list, show, update, delete, their monitor, update log
and events, and the specifications they deploy on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.api.deps import (
    BackendDep,
    CallerDep,
    CatalogDep,
    DatabaseDep,
    HostsDep,
    ServicesDep,
    SessionDep,
    TrafficDep,
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
from openarts.schemas.common import ERROR_RESPONSES
from openarts.schemas.services import (
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
from openarts.services import events as event_service
from openarts.services import inference_services as service
from openarts.services.inference_services import ServicePlatform

router = APIRouter(prefix="/v1/{project_id}", tags=["Services"], responses=ERROR_RESPONSES)


async def _out(session: AsyncSession, row: Service, services: ServicePlatform) -> ServiceOut:
    replicas = await service.replicas_of(session, row.id)
    models = await service.models_by_id(session, {e.model_id for e in service.entries_of(row)})
    return service_out(row, replicas, models, services.endpoint)


@router.post("/services", response_model=ServiceDeployOut, summary="Deploy a service")
async def deploy_service(
    body: ServiceCreate,
    caller: CallerDep,
    hosts: HostsDep,
    session: SessionDep,
    services: ServicesDep,
) -> ServiceDeployOut:
    known = await hosts.known()  # the backend, before the transaction's first statement
    row = await service.create_service(session, services, caller, body, known)
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
    page = await service.list_services(session, caller.project_id, query)
    rows, total = page.items, page.total
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
    query: Annotated[SpecificationQuery, Query()], caller: CallerDep, catalog: CatalogDep
) -> SpecificationListOut:
    flavors = catalog.for_use(FlavorUse.INFERENCE)
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
    service_id: str, caller: CallerDep, session: SessionDep, services: ServicesDep
) -> ServiceOut:
    row = await service.get_service(session, caller.project_id, service_id)
    return await _out(session, row, services)


@router.put("/services/{service_id}", response_model=ServiceUpdateOut, summary="Update a service")
async def update_service(
    service_id: str,
    body: ServiceUpdate,
    caller: CallerDep,
    hosts: HostsDep,
    session: SessionDep,
    services: ServicesDep,
) -> ServiceUpdateOut:
    known = await hosts.known()  # the backend, before the transaction's first statement
    await service.update_service(session, services, caller, service_id, body, known)
    return ServiceUpdateOut()


@router.delete(
    "/services/{service_id}", response_model=ServiceDeleteOut, summary="Delete a service"
)
async def delete_service(
    service_id: str,
    caller: CallerDep,
    session: SessionDep,
) -> ServiceDeleteOut:
    await service.delete_service(session, caller.project_id, service_id)
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
    db: DatabaseDep,
    backend: BackendDep,
    traffic: TrafficDep,
) -> ServiceMonitorOut:
    view = await service.monitor(db, backend, caller.project_id, service_id)
    monitors = monitors_out(view.service, view.replicas, view.models, view.usage)
    return ServiceMonitorOut(
        service_name=view.service.name,
        service_id=view.service.id,
        monitors=monitors,
        service_running_instance_count=sum(m.model_running_instance_count or 0 for m in monitors),
        service_instance_count=sum(m.model_instance_count or 0 for m in monitors),
        req_count_per_min=traffic.calls_last_minute(view.service.id),
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
    page = await event_service.list_events(
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
    rows, total = page.items, page.total
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
