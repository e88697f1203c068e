"""Training jobs (v2): create, read, search, change the description, terminate, delete;
their tasks' logs and their events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from openarts.api.deps import (
    CallerDep,
    CatalogDep,
    HostsDep,
    SessionDep,
    TrainingDep,
    TrainingLogsDep,
)
from openarts.api.training_views import job_view
from openarts.db.tables import Event
from openarts.domain.events import EventType
from openarts.domain.training import WORKLOAD_KIND
from openarts.domain.training_plan import Plan
from openarts.schemas.common import ERROR_RESPONSES, MAX_OFFSET
from openarts.schemas.training_jobs import (
    LOG_PREVIEW_MAX_BYTES,
    LogPreviewOut,
    LogUrlOut,
    MetricSeriesOut,
    TaskMetricsOut,
    TrainingJobActionIn,
    TrainingJobCreateIn,
    TrainingJobDescriptionIn,
    TrainingJobEventOut,
    TrainingJobEventsOut,
    TrainingJobListOut,
    TrainingJobOut,
    TrainingJobSearchIn,
)
from openarts.services import events as event_service
from openarts.services import training_jobs as service
from openarts.services import training_logs as log_service
from openarts.services import training_metrics as metrics_service
from openarts.services import training_specs as specs
from openarts.services import workloads as workload_service

router = APIRouter(prefix="/v2/{project_id}", tags=["Training"], responses=ERROR_RESPONSES)

GIB = 1 << 30
_LEVELS = {EventType.NORMAL.value: "Info", EventType.WARNING.value: "Warning"}


@router.post(
    "/training-jobs",
    status_code=201,
    response_model=TrainingJobOut,
    response_model_exclude_none=True,
    summary="Create a training job",
)
async def create_training_job(
    body: TrainingJobCreateIn,
    caller: CallerDep,
    hosts: HostsDep,
    session: SessionDep,
    training: TrainingDep,
) -> TrainingJobOut:
    known = await hosts.known()  # the backend, before the transaction's first statement
    return job_view(await service.create_job(session, training, caller, body, known))


@router.get(
    "/training-jobs/{training_job_id}",
    response_model=TrainingJobOut,
    response_model_exclude_none=True,
    summary="Show a training job",
)
async def show_training_job(
    training_job_id: str, caller: CallerDep, session: SessionDep
) -> TrainingJobOut:
    job = await service.get_job(session, caller.project_id, training_job_id)
    return job_view(job, await workload_service.waiting_reason(session, [job.workload_id]))


@router.put(
    "/training-jobs/{training_job_id}",
    summary="Change a training job's description",
)
async def describe_training_job(
    training_job_id: str, body: TrainingJobDescriptionIn, caller: CallerDep, session: SessionDep
) -> Response:
    job = await service.get_job(session, caller.project_id, training_job_id)
    if body.description is not None:
        job.description = body.description
    return Response(status_code=200)


@router.delete("/training-jobs/{training_job_id}", status_code=202, summary="Delete a job")
async def delete_training_job(
    training_job_id: str, caller: CallerDep, session: SessionDep
) -> Response:
    job = await service.get_job(session, caller.project_id, training_job_id)
    await service.delete_job(session, job)
    return Response(status_code=202)


@router.post(
    "/training-jobs/{training_job_id}/actions",
    status_code=202,
    response_model=TrainingJobOut,
    response_model_exclude_none=True,
    summary="Terminate a training job",
)
async def act_on_training_job(
    training_job_id: str,
    body: TrainingJobActionIn,
    caller: CallerDep,
    session: SessionDep,
) -> TrainingJobOut:
    job = await service.get_job(session, caller.project_id, training_job_id)
    await service.terminate_job(session, job)
    return job_view(job)


@router.post(
    "/training-job-searches",
    response_model=TrainingJobListOut,
    response_model_exclude_none=True,
    summary="Search training jobs",
)
async def search_training_jobs(
    caller: CallerDep,
    session: SessionDep,
    # The SDK's ListTrainingJobsRequest() sends no body at all: a list with the defaults.
    body: Annotated[TrainingJobSearchIn | None, Body()] = None,
) -> TrainingJobListOut:
    body = body or TrainingJobSearchIn()
    offset = body.offset or 0
    limit = body.limit or 10
    sort_by = body.sort_by or "create_time"
    order = body.order or "desc"
    filters: list[tuple[str, str, list[str]]] = [
        (f.key or "", str(f.operator or "in"), [str(v) for v in f.value or []])
        for f in body.filters or []
    ]
    page = await service.search_jobs(
        session,
        caller.project_id,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        ascending=order == "asc",
        filters=filters,
    )
    return TrainingJobListOut(
        total=page.total,
        count=len(page.items),
        limit=limit,
        offset=offset,
        sort_by=sort_by,
        order=order,
        group_by=body.group_by or "",
        workspace_id=body.workspace_id or "0",
        ai_project="default-ai-project",
        items=[job_view(job) for job in page.items],
    )


@router.get(
    "/training-jobs/{training_job_id}/tasks/{task_id}/logs/preview",
    response_model=LogPreviewOut,
    summary="The latest part of a task's log",
)
async def preview_task_log(
    training_job_id: str, task_id: str, caller: CallerDep, logs: TrainingLogsDep
) -> LogPreviewOut:
    preview = await logs.preview(caller.project_id, training_job_id, task_id, LOG_PREVIEW_MAX_BYTES)
    return LogPreviewOut(
        content=preview.content, current_size=preview.current_size, full_size=preview.full_size
    )


@router.get(
    "/training-jobs/{training_job_id}/tasks/{task_id}/logs/url",
    response_model=LogUrlOut,
    summary="A link to a task's whole log",
)
async def task_log_url(
    training_job_id: str, task_id: str, caller: CallerDep, logs: TrainingLogsDep
) -> LogUrlOut:
    return LogUrlOut(obs_url=await logs.link(caller.project_id, training_job_id, task_id))


@router.get(
    "/training-jobs/{training_job_id}/metrics/{task_id}",
    response_model=TaskMetricsOut,
    summary="A task's metrics, one value per minute",
)
async def task_metrics(
    training_job_id: str,
    task_id: str,
    caller: CallerDep,
    session: SessionDep,
    catalog: CatalogDep,
) -> TaskMetricsOut:
    job, _ = await log_service.job_task(session, caller.project_id, training_job_id, task_id)
    flavor = catalog.get(Plan.model_validate_json(job.plan).flavor)
    gpu_memory = flavor.gpu.memory_gib * GIB if flavor and flavor.gpu else None
    series = await metrics_service.task_metrics(session, job, task_id, gpu_memory)
    return TaskMetricsOut(
        metrics=[MetricSeriesOut(metric=name, value=values) for name, values in series.items()]
    )


@router.get(
    "/training-jobs/{training_job_id}/events",
    response_model=TrainingJobEventsOut,
    response_model_exclude_none=True,
    summary="A training job's events",
)
async def training_job_events(
    training_job_id: str,
    caller: CallerDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    start_time: Annotated[str | None, Query(max_length=64)] = None,
    end_time: Annotated[str | None, Query(max_length=64)] = None,
    level: Annotated[str | None, Query(pattern="^(Info|Warning|Error)$")] = None,
    pattern: Annotated[str | None, Query(max_length=256)] = None,
    source: Annotated[str | None, Query(max_length=16)] = None,
) -> TrainingJobEventsOut:
    if (start_time is None) != (end_time is None):
        raise specs.bad("start_time and end_time go together", "ModelArts.2764")
    since = _time_ms("start_time", start_time)
    until = _time_ms("end_time", end_time)
    job = await service.get_job(session, caller.project_id, training_job_id)
    # Every event here is the job's own (source Job); Error is what the table calls
    # Warning, the only other level.
    wanted_type = {"Info": EventType.NORMAL, "Warning": EventType.WARNING}.get(level or "")
    total, rows = 0, list[Event]()
    if (level != "Error") and source in (None, "Job"):
        page = await event_service.list_events(
            session,
            event_service.EventFilter(
                project_id=caller.project_id,
                resource_type=WORKLOAD_KIND,
                resource_name=job.id,
                type=wanted_type,
                since_ms=since,
                until_ms=until,
                ascending=order == "asc",
                pattern=pattern,
            ),
            limit=limit,
            offset=offset,
        )
        rows, total = page.items, page.total
    return TrainingJobEventsOut(
        total=total,
        limit=limit,
        offset=offset,
        order=order,
        start_time=_iso(since) if since is not None else None,
        end_time=_iso(until) if until is not None else None,
        events=[
            TrainingJobEventOut(
                time=_iso(e.last_timestamp),
                level=_LEVELS.get(e.type, "Info"),
                message=f"[{e.reason}] {e.message}",
                source="Job",
            )
            for e in rows
        ],
    )


def _time_ms(name: str, text: str | None) -> int | None:
    """A time in milliseconds since the epoch, or an ISO 8601 time (the SDK types it as
    a string, the reference's example sends milliseconds)."""
    if text is None:
        return None
    if text.isascii() and text.isdigit():  # int() refuses digits such as '³'
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise specs.bad(
            f"{name} {text!r} is neither milliseconds since 1970 nor an ISO 8601 time",
            "ModelArts.2764",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
