"""From stored services, their replicas and update log to their wire shapes."""

from __future__ import annotations

import json

from openarts.db.tables import Model, Service, ServiceReplica
from openarts.db.tables import ServiceUpdate as UpdateRow
from openarts.domain.capacity import GIB
from openarts.domain.flavors import Flavor
from openarts.domain.services import ReplicaState, ServiceStatus
from openarts.schemas.services import (
    CpuInfoOut,
    CustomSpecOut,
    GpuInfoOut,
    MemoryInfoOut,
    MonitorOut,
    ScheduleOut,
    ServiceConfigOut,
    ServiceLogConfigOut,
    ServiceLogOut,
    ServiceOut,
    ServiceSummaryOut,
    SpecificationOut,
    infer_address,
)
from openarts.services.inference_services import Entry, entries_of

MIB = 1024 * 1024


def _schedule(service: Service) -> list[ScheduleOut] | None:
    items = json.loads(service.schedule)
    return [ScheduleOut(**item) for item in items] or None


def _ready(replicas: list[ServiceReplica], model_id: str) -> int:
    return sum(1 for r in replicas if r.model_id == model_id and r.state == ReplicaState.READY)


def _progress(service: Service, replicas: list[ServiceReplica], entries: list[Entry]) -> int:
    wanted = sum(e.instance_count for e in entries)
    if service.status != ServiceStatus.DEPLOYING or not wanted:
        return 100 if service.status == ServiceStatus.RUNNING else 0
    ready = sum(min(_ready(replicas, e.model_id), e.instance_count) for e in entries)
    return int(100 * ready / wanted)


def _config_status(service: Service, replicas: list[ServiceReplica], entry: Entry) -> str:
    if service.status in (ServiceStatus.STOPPED, ServiceStatus.STOPPING, ServiceStatus.FAILED):
        return service.status
    return "running" if _ready(replicas, entry.model_id) >= entry.instance_count else "notReady"


def service_out(
    service: Service,
    replicas: list[ServiceReplica],
    models: dict[str, Model],
    endpoint: str,
) -> ServiceOut:
    entries = entries_of(service)
    config = []
    for entry in entries:
        model = models.get(entry.model_id)
        config.append(
            ServiceConfigOut(
                model_id=entry.model_id,
                model_name=model.name if model else None,
                model_version=model.version if model else None,
                weight=entry.weight,
                specification=entry.specification,
                custom_spec=CustomSpecOut(**entry.custom_spec) if entry.custom_spec else None,
                envs=entry.envs or None,
                instance_count=entry.instance_count,
                status=_config_status(service, replicas, entry),
                scaling=False,
                support_debug=False,
                pool_name=service.pool_name or None,
            )
        )
    return ServiceOut(
        service_id=service.id,
        service_name=service.name,
        description=service.description,
        tenant=service.project_id,
        project=service.project_id,
        owner=service.owner,
        publish_at=service.created_at,
        infer_type=service.infer_type,
        workspace_id=service.workspace_id,
        status=service.status,
        progress=_progress(service, replicas, entries),
        error_msg=service.reason if service.status == ServiceStatus.FAILED else None,
        config=config,
        access_address=infer_address(endpoint, service.id),
        invocation_times=service.invocation_times,
        failed_times=service.failed_times,
        is_shared=False,
        shared_count=0,
        schedule=_schedule(service),
        update_time=service.updated_at,
        due_time=service.due_time,
        operation_time=service.updated_at,
        transition_at=service.transition_at,
        is_free=False,
        pool_name=service.pool_name or None,
        load_balancer_policy=service.load_balancer_policy or None,
    )


def summary_out(service: Service) -> ServiceSummaryOut:
    return ServiceSummaryOut(
        failed_times=service.failed_times,
        owner=service.owner,
        due_time=service.due_time,
        infer_type=service.infer_type,
        service_name=service.name,
        description=service.description,
        project=service.project_id,
        invocation_times=service.invocation_times,
        publish_at=service.created_at,
        workspace_id=service.workspace_id,
        schedule=_schedule(service),
        operation_time=service.updated_at,
        is_shared=False,
        service_id=service.id,
        shared_count=0,
        tenant=service.project_id,
        status=service.status,
        is_opened_sample_collection="false",
        transition_at=service.transition_at,
        is_free=False,
    )


def monitors_out(
    service: Service,
    replicas: list[ServiceReplica],
    models: dict[str, Model],
    usage: dict[str, tuple[float, int]],
) -> list[MonitorOut]:
    """One entry per model: its calls, its replicas, and what they use now (CPU cores and
    memory in MB, summed over its ready replicas)."""
    calls: dict[str, list[int]] = json.loads(service.model_calls or "{}")
    monitors = []
    for entry in entries_of(service):
        model = models.get(entry.model_id)
        mine = [r for r in replicas if r.model_id == entry.model_id]
        cores = sum(usage.get(r.id, (0.0, 0))[0] for r in mine)
        memory = sum(usage.get(r.id, (0.0, 0))[1] for r in mine)
        counted = calls.get(entry.model_id, [0, 0])
        monitors.append(
            MonitorOut(
                model_id=entry.model_id,
                model_name=model.name if model else None,
                model_version=model.version if model else None,
                invocation_times=counted[0],
                failed_times=counted[1],
                cpu_core_usage=round(cores, 3),
                cpu_core_total=entry.vcpus * entry.instance_count,
                cpu_memory_usage=memory // MIB,
                cpu_memory_total=entry.memory_bytes * entry.instance_count // MIB,
                gpu_usage=0.0,
                gpu_total=float(entry.gpus * entry.instance_count),
                model_running_instance_count=_ready(replicas, entry.model_id),
                model_instance_count=entry.instance_count,
            )
        )
    return monitors


def log_out(row: UpdateRow, models: dict[str, Model]) -> ServiceLogOut:
    config = []
    for item in json.loads(row.config):
        entry = Entry.from_json(item)
        model = models.get(entry.model_id)
        config.append(
            ServiceLogConfigOut(
                model_id=entry.model_id,
                model_name=model.name if model else None,
                model_version=model.version if model else None,
                weight=entry.weight,
                specification=entry.specification,
                custom_spec=CustomSpecOut(**entry.custom_spec) if entry.custom_spec else None,
                envs=entry.envs or None,
                instance_count=entry.instance_count,
            )
        )
    return ServiceLogOut(
        update_time=row.created_at,
        result=row.result,
        config=config,
        extend_config=[row.detail] if row.detail else None,
    )


def specification_out(flavor: Flavor) -> SpecificationOut:
    gpu = flavor.gpu
    return SpecificationOut(
        is_open=True,
        spec_status="normal",
        specification=flavor.name,
        billing_spec=flavor.name,
        category="GPU" if gpu else "CPU",
        cpu_info=CpuInfoOut(arch=flavor.arch, cpu=flavor.vcpus),
        memory_info=MemoryInfoOut(unit="MB", memory=int(flavor.memory_gib * GIB) // MIB),
        gpu_info=(
            GpuInfoOut(
                brand="NVIDIA",
                version=gpu.type,
                unit="GB",
                memory=int(gpu.memory_gib),
                gpu=float(gpu.count),
            )
            if gpu
            else None
        ),
        source_type="",
        is_free=False,
        over_quota=False,
        display_en=f"{flavor.vcpus:g} vCPUs | {flavor.memory_gib:g} GiB"
        + (f" | {gpu.count} x {gpu.type}" if gpu else ""),
    )
