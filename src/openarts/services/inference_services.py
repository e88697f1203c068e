"""Real-time services: deploy, list, show, update, delete, their update log, and the one
switch of their status.

Deploy checks what can be checked at once (the models are published and the project's,
the specifications exist, the replicas could ever fit their pool) and records the service
as deploying; the service reconciler starts and watches its replicas. An update that
changes the config bumps the service's generation: replicas of the new one start, and
those of the old one leave once the new ones answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts import errors
from openarts.backends.base import ComputeBackend, TaskHandle
from openarts.db.engine import Database
from openarts.db.tables import Model, Service, ServiceReplica, WorkloadTask
from openarts.db.tables import ServiceUpdate as UpdateRow
from openarts.domain.capacity import GIB, HostNode
from openarts.domain.events import EventType
from openarts.domain.flavors import FlavorUse
from openarts.domain.identity import Caller
from openarts.domain.models import ModelStatus
from openarts.domain.scheduling import Resources
from openarts.domain.service_rules import REAL_TIME, update_problem
from openarts.domain.services import (
    ALLOWED_MOVES,
    DEFAULT_DEPLOY_TIMEOUT_S,
    RESOURCE_TYPE,
    UPDATABLE,
    ServiceStatus,
)
from openarts.errors import OpenArtsError
from openarts.ids import new_uuid, now_ms
from openarts.schemas.services import (
    Schedule,
    ServiceConfig,
    ServiceCreate,
    ServiceListQuery,
    ServiceUpdate,
)
from openarts.services import pools as pool_service
from openarts.services.events import record_event_sync
from openarts.services.flavors import FlavorCatalog
from openarts.services.hints import Hint, hint
from openarts.services.paging import Page, page_of
from openarts.services.transitions import Recorded, transition

S = ServiceStatus
MIB = 1024 * 1024


@dataclass
class ServicePlatform:
    catalog: FlavorCatalog
    # The platform's own address: access_address is under it.
    endpoint: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One config entry as the platform keeps it."""

    model_id: str
    weight: int
    specification: str
    instance_count: int
    vcpus: float
    memory_bytes: int
    gpus: int
    envs: dict[str, str]
    custom_spec: dict[str, Any] | None = None
    # How long a replica may take to answer its health check before its start fails.
    deploy_timeout_s: int = DEFAULT_DEPLOY_TIMEOUT_S

    def to_json(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "weight": self.weight,
            "specification": self.specification,
            "instance_count": self.instance_count,
            "vcpus": self.vcpus,
            "memory_bytes": self.memory_bytes,
            "gpus": self.gpus,
            "envs": self.envs,
            "custom_spec": self.custom_spec,
            "deploy_timeout_s": self.deploy_timeout_s,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Entry:
        return cls(**value)

    @property
    def needs(self) -> Resources:
        return Resources(self.vcpus, self.memory_bytes, self.gpus)


def entries_of(service: Service) -> list[Entry]:
    return [Entry.from_json(item) for item in json.loads(service.config)]


def not_found(service_id: str) -> OpenArtsError:
    return OpenArtsError(errors.SERVICE_NOT_FOUND, f"Service {service_id} does not exist.")


# -- deploy ---------------------------------------------------------------------------------
async def create_service(
    session: AsyncSession,
    platform: ServicePlatform,
    caller: Caller,
    body: ServiceCreate,
    hosts: list[HostNode],
) -> Service:
    if body.infer_type != REAL_TIME:
        raise OpenArtsError(
            errors.SERVICE_TYPE_UNAVAILABLE,
            f"The {body.infer_type} service has not been enabled: this platform deploys "
            "real-time services only",
        )
    pool = body.pool_name or body.cluster_id or ""
    entries = await _entries(session, platform, hosts, caller.project_id, body.config, pool)
    now = now_ms()
    schedule = json.dumps([s.model_dump(mode="json") for s in body.schedule or []])
    service = Service(
        id=new_uuid(),
        project_id=caller.project_id,
        name=body.service_name,
        description=body.description or "",
        infer_type=REAL_TIME,
        workspace_id=body.workspace_id,
        owner=caller.user_id,
        status=S.DEPLOYING.value,
        reason="",
        desired="run",
        config=json.dumps([e.to_json() for e in entries]),
        generation=1,
        schedule=schedule,
        due_time=due_time(schedule, now),
        pool_name=pool,
        load_balancer_policy=body.load_balancer_policy or "",
        additional_properties=json.dumps(
            body.additional_properties.model_dump(mode="json", exclude_none=True)
            if body.additional_properties
            else {}
        ),
        invocation_times=0,
        failed_times=0,
        created_at=now,
        updated_at=now,
        transition_at=now,
    )
    session.add(service)
    try:
        await session.flush()
    except IntegrityError:
        raise OpenArtsError(
            errors.SERVICE_EXISTS, f"Service {body.service_name} already exists."
        ) from None
    await session.run_sync(_deployed, service, entries)
    hint(session, Hint.SERVICES, Hint.ROUTES)
    return service


def due_time(schedule: str, now: int) -> int | None:
    """When a service whose (stored) ``schedule`` holds a stop, started at ``now``, stops."""
    stops = [item for item in json.loads(schedule) if item.get("type") == "stop"]
    return now + Schedule.model_validate(stops[0]).seconds * 1000 if stops else None


def _deployed(session: Session, service: Service, entries: list[Entry]) -> None:
    record_update(session, service, entries)
    _event(session, service, "ServiceDeploying", f"service {service.name} is being deployed")


async def _entries(
    session: AsyncSession,
    platform: ServicePlatform,
    hosts: list[HostNode],
    project_id: str,
    config: list[ServiceConfig],
    pool: str,
) -> list[Entry]:
    """The config entries, checked: published models of the project, known
    specifications, and replicas that could ever fit their pool."""
    entries = []
    for item in config:
        model = await session.get(Model, item.model_id)
        if model is None or model.project_id != project_id:
            raise OpenArtsError(
                errors.SERVICE_MODEL_NOT_FOUND, f"Model {item.model_id} does not exist."
            )
        if model.status != ModelStatus.PUBLISHED:
            why = f": {model.reason}" if model.reason else ""
            raise OpenArtsError(
                errors.SERVICE_MODEL_NOT_READY,
                f"The model {item.model_id} cannot be used for deploying services because it "
                f"is {model.status}{why}.",
            )
        entries.append(_entry(platform, item))
    needs = [e.needs for e in entries for _ in range(e.instance_count)]
    if not await pool_service.could_ever_fit(session, hosts, project_id, pool, needs):
        where = f"pool {pool}" if pool else "the public pool"
        raise OpenArtsError(
            errors.SERVICE_NO_RESOURCES,
            f"Insufficient resources: {len(needs)} instance(s) of these specifications can "
            f"never fit in {where}, even when it is empty.",
        )
    return entries


def _entry(platform: ServicePlatform, item: ServiceConfig) -> Entry:
    custom = item.custom_spec
    if custom is not None:
        vcpus, memory, gpus = custom.cpu, custom.memory * MIB, int(custom.gpu_p4 or 0)
    else:
        flavor = platform.catalog.get(item.specification)
        if flavor is None or not flavor.serves(FlavorUse.INFERENCE):
            names = ", ".join(f.name for f in platform.catalog.for_use(FlavorUse.INFERENCE))
            raise OpenArtsError(
                errors.SPECIFICATION_NOT_FOUND,
                f"The specification code {item.specification} was not found; the "
                f"specifications are: {names}",
            )
        unusable = platform.catalog.unusable_reason(flavor)
        if unusable:
            raise OpenArtsError(errors.SPECIFICATION_NOT_FOUND, unusable)
        vcpus = flavor.vcpus
        memory = int(flavor.memory_gib * GIB)
        gpus = flavor.gpu.count if flavor.gpu else 0
    return Entry(
        model_id=item.model_id,
        weight=int(item.weight if item.weight is not None else 100),
        specification=item.specification,
        instance_count=int(item.instance_count),
        vcpus=float(vcpus),
        memory_bytes=int(memory),
        gpus=gpus,
        envs={str(k): str(v) for k, v in (item.envs or {}).items()},
        custom_spec=custom.model_dump(mode="json", exclude_none=True) if custom else None,
        deploy_timeout_s=int(item.deploy_timeout_in_seconds or DEFAULT_DEPLOY_TIMEOUT_S),
    )


# -- read -----------------------------------------------------------------------------------
async def get_service(session: AsyncSession, project_id: str, service_id: str) -> Service:
    service = await session.get(Service, service_id)
    if service is None or service.project_id != project_id or service.desired == "delete":
        raise not_found(service_id)
    return service


_SORT_COLUMNS: dict[str, Any] = {
    "publish_at": Service.created_at,
    "service_name": Service.name,
    "transition_at": Service.transition_at,
}


async def list_services(
    session: AsyncSession, project_id: str, query: ServiceListQuery
) -> Page[Service]:
    conditions: list[Any] = [Service.project_id == project_id, Service.desired != "delete"]
    if query.service_id:
        conditions.append(Service.id == query.service_id)
    if query.service_name:
        conditions.append(Service.name.contains(query.service_name, autoescape=True))
    if query.model_id:
        conditions.append(Service.config.contains(f'"{query.model_id}"', autoescape=True))
    if query.workspace_id:
        conditions.append(Service.workspace_id == query.workspace_id)
    if query.infer_type:
        conditions.append(Service.infer_type == query.infer_type)
    if query.status:
        conditions.append(Service.status == query.status)
    column = _SORT_COLUMNS[query.sort_by]
    ordered = column.asc() if query.order == "asc" else column.desc()
    return await page_of(
        session,
        select(Service).where(*conditions),
        order_by=(ordered, Service.id),
        offset=query.offset,
        limit=query.limit,
    )


async def replicas_of(session: AsyncSession, service_id: str) -> list[ServiceReplica]:
    return list(
        await session.scalars(
            select(ServiceReplica)
            .where(ServiceReplica.service_id == service_id)
            .order_by(ServiceReplica.created_at)
        )
    )


async def update_log(session: AsyncSession, service_id: str) -> list[UpdateRow]:
    return list(
        await session.scalars(
            select(UpdateRow)
            .where(UpdateRow.service_id == service_id)
            .order_by(UpdateRow.created_at.desc(), UpdateRow.generation.desc())
        )
    )


async def models_by_id(session: AsyncSession, ids: set[str]) -> dict[str, Model]:
    rows = await session.scalars(select(Model).where(Model.id.in_(ids)))
    return {row.id: row for row in rows}


# -- update and delete ----------------------------------------------------------------------
async def update_service(
    session: AsyncSession,
    platform: ServicePlatform,
    caller: Caller,
    service_id: str,
    body: ServiceUpdate,
    hosts: list[HostNode],
) -> Service:
    service = await get_service(session, caller.project_id, service_id)
    if S(service.status) not in UPDATABLE:
        raise OpenArtsError(
            errors.SERVICE_NOT_UPDATABLE,
            f"Service {service.name} is {service.status}: it can be updated once it is "
            f"one of {', '.join(sorted(UPDATABLE))}.",
        )
    problem = update_problem(body, REAL_TIME, service_cluster=bool(service.pool_name))
    if problem is not None:
        raise OpenArtsError(errors.INVALID_ARGUMENT, f"Invalid parameter: {problem}")
    config = body.effective_config
    entries = (
        await _entries(session, platform, hosts, caller.project_id, config, service.pool_name)
        if config is not None
        else None
    )
    now = now_ms()
    if body.description is not None:
        service.description = body.description
    if body.schedule is not None:
        service.schedule = json.dumps([s.model_dump(mode="json") for s in body.schedule])
        service.due_time = due_time(service.schedule, now)
    await session.run_sync(_apply_update, service, entries, body.status)
    hint(session, Hint.SERVICES, Hint.ROUTES)
    return service


def _apply_update(
    session: Session, service: Service, entries: list[Entry] | None, status: str | None
) -> None:
    if status == "stopped":
        if service.status not in (S.STOPPED, S.STOPPING):
            service.desired = "stop"
            service.due_time = None
            _switch_or_refuse(session, service, S.STOPPING, "stopping at the user's request")
        return
    if status == "running":
        service.desired = "run"
        if service.status in (S.STOPPED, S.FAILED):
            _restart(session, service, "starting at the user's request")
            record_update(session, service, entries_of(service))
        return
    if entries is not None:
        before = entries_of(service)
        service.config = json.dumps([e.to_json() for e in entries])
        if service.status == S.FAILED:
            _restart(session, service, f"applying update {service.generation + 1}")
        else:
            if replaces_replicas(before, entries):
                service.generation += 1
            if service.status in (S.RUNNING, S.CONCERNING):
                _switch_or_refuse(
                    session, service, S.DEPLOYING, f"applying update {service.generation}"
                )
        record_update(session, service, entries)


def _restart(session: Session, service: Service, reason: str) -> None:
    """From stopped or failed back to deploying: a new generation (replicas start afresh,
    their failures forgotten) and the stop schedule counted again from now."""
    service.generation += 1
    service.due_time = due_time(service.schedule, now_ms())
    _switch_or_refuse(session, service, S.DEPLOYING, reason)


def _switch_or_refuse(session: Session, service: Service, to: ServiceStatus, reason: str) -> None:
    """Switch, or refuse the request when the service moved meanwhile (the transaction
    then rolls back: nothing the request changed stays)."""
    current = S(service.status)
    if to not in ALLOWED_MOVES[current] or not switch_service_status(session, service, to, reason):
        raise OpenArtsError(
            errors.SERVICE_NOT_UPDATABLE,
            f"Service {service.name} changed meanwhile (it was {current}); try again.",
        )


def replaces_replicas(before: list[Entry], after: list[Entry]) -> bool:
    """Whether an update needs new replicas (another model, specification or variables);
    weights and instance counts change in place."""

    def shape(entry: Entry) -> tuple[object, ...]:
        envs = tuple(sorted(entry.envs.items()))
        return (entry.specification, entry.vcpus, entry.memory_bytes, entry.gpus, envs)

    old = {e.model_id: shape(e) for e in before}
    new = {e.model_id: shape(e) for e in after}
    return old != new


async def delete_service(session: AsyncSession, project_id: str, service_id: str) -> Service:
    service = await get_service(session, project_id, service_id)
    await session.run_sync(_mark_deleted, service)
    hint(session, Hint.SERVICES, Hint.ROUTES)
    return service


def _mark_deleted(session: Session, service: Service) -> None:
    service.desired = "delete"
    if service.status != S.DELETING:
        _switch_or_refuse(session, service, S.DELETING, "deleting at the user's request")


# -- the update log and the status switch ---------------------------------------------------
def record_update(session: Session, service: Service, entries: list[Entry]) -> None:
    session.add(
        UpdateRow(
            id=new_uuid(),
            service_id=service.id,
            generation=service.generation,
            config=json.dumps([e.to_json() for e in entries]),
            result="RUNNING",
            detail="",
            created_at=now_ms(),
        )
    )


def _event(
    session: Session,
    service: Service,
    reason: str,
    message: str,
    event_type: EventType = EventType.NORMAL,
) -> None:
    record_event_sync(
        session,
        project_id=service.project_id,
        resource_type=RESOURCE_TYPE,
        resource_name=service.name,
        resource_id=service.id,
        reason=reason,
        message=message,
        type=event_type,
        fold=False,
    )


def service_event(
    session: Session,
    service: Service,
    reason: str,
    message: str,
    event_type: EventType = EventType.NORMAL,
) -> None:
    """An event of the service that is not a change of its status (a replica's)."""
    _event(session, service, reason, message, event_type)


def switch_service_status(
    session: Session,
    service: Service,
    to: ServiceStatus,
    reason: str,
    *,
    event_type: EventType = EventType.NORMAL,
) -> bool:
    """Compare-and-set the service's status, with an event; False if it moved meanwhile."""
    now = now_ms()
    return transition(
        session,
        service,
        to,
        ALLOWED_MOVES,
        kind="service",
        values={"reason": reason, "updated_at": now, "transition_at": now},
        event=Recorded(
            project_id=service.project_id,
            resource_type=RESOURCE_TYPE,
            resource_name=service.name,
            resource_id=service.id,
            reason=f"Service{to.value.title()}",
            message=reason or to.value,
            type=event_type,
        ),
    )


def json_list(text: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(text)
    return items


@dataclass(frozen=True, slots=True)
class MonitorView:
    service: Service
    replicas: list[ServiceReplica]
    models: dict[str, Model]
    # replica id -> (CPU cores, memory bytes) in use now.
    usage: dict[str, tuple[float, int]]


async def monitor(
    db: Database, backend: ComputeBackend, project_id: str, service_id: str
) -> MonitorView:
    """The service and what its replicas use now: read in a short session of its own, the
    backend asked after it (never inside a transaction)."""
    async with db.session() as session:
        service = await get_service(session, project_id, service_id)
        views, handles = await _read_views(session, [service])
    return (await _with_usage(backend, views, handles))[0]


async def all_monitors(
    db: Database, backend: ComputeBackend, project_id: str | None = None
) -> list[MonitorView]:
    """Every service's monitor view, or one project's (for /metrics)."""
    query = select(Service).where(Service.desired != "delete")
    if project_id is not None:
        query = query.where(Service.project_id == project_id)
    async with db.session() as session:
        services = list(await session.scalars(query))
        views, handles = await _read_views(session, services)
    return await _with_usage(backend, views, handles)


async def _read_views(
    session: AsyncSession, services: list[Service]
) -> tuple[list[MonitorView], dict[str, str]]:
    """The views without usage, and each replica task's handle (JSON) by replica id."""
    views = []
    owners: dict[str, str] = {}
    for service in services:
        replicas = await replicas_of(session, service.id)
        models = await models_by_id(session, {e.model_id for e in entries_of(service)})
        views.append(MonitorView(service, replicas, models, {}))
        owners.update({r.workload_id: r.id for r in replicas if r.workload_id})
    handles: dict[str, str] = {}
    if owners:
        rows = await session.execute(
            select(WorkloadTask.workload_id, WorkloadTask.handle).where(
                WorkloadTask.workload_id.in_(list(owners)), WorkloadTask.handle.is_not(None)
            )
        )
        handles = {owners[workload_id]: str(text) for workload_id, text in rows}
    return views, handles


async def _with_usage(
    backend: ComputeBackend, views: list[MonitorView], handles: dict[str, str]
) -> list[MonitorView]:
    by_task: dict[str, str] = {}
    parsed = []
    for replica_id, text in handles.items():
        try:
            handle = TaskHandle.from_json(text)
        except ValueError:
            continue
        by_task[handle.task_id] = replica_id
        parsed.append(handle)
    samples = await backend.sample(parsed) if parsed else {}
    usage = {
        by_task[task_id]: (sample.cpu_percent / 100, sample.memory_bytes)
        for task_id, sample in samples.items()
        if task_id in by_task
    }
    return [
        MonitorView(
            v.service,
            v.replicas,
            v.models,
            {r.id: usage[r.id] for r in v.replicas if r.id in usage},
        )
        for v in views
    ]
