"""Training jobs: the list with filters, create (from an algorithm, or from code and an
engine), and the detail page with status, tasks, live log, metrics charts and events."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from openarts.console import live
from openarts.console.api_client import ApiError, ConsoleApi, segment
from openarts.console.errors import FormError, flash
from openarts.console.pages.common import (
    ListPage,
    form_failure,
    items,
    number,
    page,
    pairs,
)
from openarts.console.rendering import render
from openarts.console.session import ApiDep, SessionDep, checked_form

router = APIRouter(prefix="/console/training-jobs", include_in_schema=False)
JOBS = "/v2/{project_id}/training-jobs"
FINISHED = {"Completed", "Failed", "Terminated", "Abnormal"}
PHASES = [
    "Creating",
    "Pending",
    "Running",
    "Completed",
    "Failed",
    "Terminating",
    "Terminated",
    "Abnormal",
]
# How often the slower parts of a job's page are asked again (the log: every poll).
DETAIL_POLL_S = 0.5
EVENTS_EVERY_S = 2.0
CHARTS_EVERY_S = 10.0
# The metrics API's series, as the charts group them.
CHARTS = [
    ("CPU", "%", ["cpuUsage"]),
    ("Memory", "%", ["memUsage"]),
    ("GPU", "%", ["gpuUtil", "gpuMemUsage"]),
]


def search_body(phase: str, name: str, limit: int = 50) -> dict[str, Any]:
    filters = []
    if phase:
        filters.append({"key": "phase", "operator": "in", "value": [phase]})
    if name:
        filters.append({"key": "name", "operator": "like", "value": [name]})
    return {
        "offset": 0,
        "limit": limit,
        "sort_by": "create_time",
        "order": "desc",
        "filters": filters,
    }


async def search_answer(api: ConsoleApi, phase: str = "", name: str = "") -> Any:
    return await api.post("/v2/{project_id}/training-job-searches", search_body(phase, name))


async def search(api: ConsoleApi, phase: str = "", name: str = "") -> list[dict[str, Any]]:
    return items(await search_answer(api, phase, name), "items")


def _rows_producer(phase: str, name: str) -> live.Produce:
    if phase and phase not in PHASES:
        # Asked by URL: answered in words rather than passed on as a filter.
        raise ApiError(400, "Console.0400", f"There is no phase {phase!r}.")

    async def produce(api: ConsoleApi) -> live.Update:
        rows = render("training/rows.html", jobs=await search(api, phase, name))
        return live.Update({"rows": rows})

    return produce


async def _choices(api: ConsoleApi) -> dict[str, Any]:
    engines = items(await api.get("/v2/{project_id}/training-job-engines"), "items")
    flavors = items(await api.get("/v2/{project_id}/training-job-flavors"), "flavors")
    algorithms = items(await api.get("/v2/{project_id}/algorithms", limit=50), "items")
    pools = items(await api.get("/v2/{project_id}/pools"), "items")
    return {"engines": engines, "flavors": flavors, "algorithms": algorithms, "pools": pools}


LIST = ListPage("training/list.html", "Training jobs", _choices)


@router.get("")
async def list_page(
    request: Request, session: SessionDep, api: ApiDep, phase: str = "", name: str = ""
) -> Response:
    return await LIST.show(
        request,
        session,
        api,
        _rows_producer(phase, name),
        phase=phase,
        name=name,
        phases=PHASES,
    )


@router.get("/live")
async def list_live(
    request: Request, session: SessionDep, phase: str = "", name: str = ""
) -> Response:
    return live.stream(request, session, _rows_producer(phase, name))


def _objects(form: dict[str, str], kind: str) -> list[dict[str, Any]]:
    return [{"name": k, "remote": {"obs": {"obs_url": v}}} for k, v in pairs(form, kind)]


def job_body(form: dict[str, str]) -> dict[str, Any]:
    """The create body from the form: an algorithm by ID, or code and an engine;
    FormError for a field that cannot be sent as typed."""
    algorithm: dict[str, Any] = {}
    if form.get("source") == "algorithm":
        algorithm["id"] = form.get("algorithm_id", "")
    else:
        algorithm["code_dir"] = form.get("code_dir", "").strip()
        algorithm["boot_file"] = form.get("boot_file", "").strip()
        engine_name, _, engine_version = form.get("engine", "").partition("|")
        algorithm["engine"] = {"engine_name": engine_name, "engine_version": engine_version}
    parameters = pairs(form, "parameters")
    if parameters:
        algorithm["parameters"] = [{"name": k, "value": v} for k, v in parameters]
    for kind in ("inputs", "outputs"):
        found = _objects(form, kind)
        if found:
            algorithm[kind] = found
    resource: dict[str, Any] = {
        "flavor_id": form.get("flavor_id", ""),
        "node_count": number(form, "node_count", default=1),
    }
    if form.get("pool_id"):
        resource["pool_id"] = form["pool_id"]
    return {
        "kind": "job",
        "metadata": {
            "name": form.get("name", "").strip(),
            "description": form.get("description", ""),
        },
        "algorithm": algorithm,
        "spec": {"resource": resource},
    }


@router.post("")
async def create(request: Request, session: SessionDep, api: ApiDep) -> Response:
    form = await checked_form(request, session)
    try:
        created = await api.post(JOBS, job_body(form))
    except (ApiError, FormError) as error:
        context, status = form_failure(error)
        return await LIST.show(
            request,
            session,
            api,
            _rows_producer("", ""),
            form=form,
            status_code=status,
            phase="",
            name="",
            phases=PHASES,
            **context,
        )
    job_id = segment(created["metadata"]["id"])
    return RedirectResponse(f"/console/training-jobs/{job_id}", status_code=303)


def tasks_of(job: dict[str, Any]) -> list[str]:
    return list(job.get("status", {}).get("tasks") or ["worker-0"])


def check_task(tasks: list[str], task: str) -> None:
    # The task goes into API paths: only one of the job's own.
    if task not in tasks:
        raise ApiError(404, "Console.0404", f"The job has no task {task!r}.")


def metrics_charts(job: dict[str, Any], series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """uPlot's data per chart: one point a minute from the job's start."""
    by_name = {s.get("metric"): s.get("value") or [] for s in series}
    start = int(job.get("status", {}).get("start_time") or 0) // 1000
    charts = []
    for title, unit, names in CHARTS:
        shown = [(n, by_name[n]) for n in names if n in by_name]
        length = max((len(v) for _, v in shown), default=0)
        charts.append(
            {
                "title": title,
                "unit": unit,
                "x": [start + 60 * i for i in range(length)],
                "series": [
                    {"label": n, "values": [None if x is None or x < 0 else x for x in v]}
                    for n, v in shown
                ],
                "empty": f"No {title} samples yet.",
            }
        )
    return charts


async def _log(api: ConsoleApi, job: str, task: str) -> str:
    answer = await api.get(f"{JOBS}/{job}/tasks/{segment(task)}/logs/preview")
    return str((answer or {}).get("content", ""))


async def _events_html(api: ConsoleApi, job: str) -> str:
    answer = await api.get(f"{JOBS}/{job}/events", limit=50)
    return render("training/events.html", events=items(answer, "events"))


async def _charts(api: ConsoleApi, job: dict[str, Any], task: str) -> dict[str, str]:
    # One metrics call for all the charts: they are views of the same answer.
    answer = await api.get(f"{JOBS}/{segment(job['metadata']['id'])}/metrics/{segment(task)}")
    charts = metrics_charts(job, items(answer, "metrics"))
    return {f"chart-{i}": json.dumps(chart) for i, chart in enumerate(charts)}


def _detail_producer(job_id: str, task: str) -> live.Produce:
    """Every part of a job's page from one job answer per poll: status and log each
    poll, events and charts when due, everything once more when the job is finished
    (its last lines and samples are then all there)."""
    schedule = live.Schedule(events=EVENTS_EVERY_S, charts=CHARTS_EVERY_S)
    job_path = segment(job_id)

    async def produce(api: ConsoleApi) -> live.Update:
        job = await api.get(f"{JOBS}/{job_path}")
        final = job.get("status", {}).get("phase") in FINISHED
        parts = {
            "state": render("training/state.html", job=job),
            "log": await _log(api, job_path, task),
        }
        if schedule.due("events") or final:
            parts["events"] = await _events_html(api, job_path)
        if schedule.due("charts") or final:
            parts.update(await _charts(api, job, task))
        return live.Update(parts, final)

    return produce


@router.get("/{job_id}")
async def detail(
    request: Request, session: SessionDep, api: ApiDep, job_id: str, task: str = ""
) -> Response:
    job = await api.get(f"{JOBS}/{segment(job_id)}")
    tasks = tasks_of(job)
    task = task or tasks[0]
    check_task(tasks, task)
    update = await _detail_producer(job_id, task)(api)
    return await page(
        request,
        session,
        api,
        "training/detail.html",
        title=f"Training job {job['metadata']['name']}",
        job=job,
        parts=update.parts,
        tasks=tasks,
        task=task,
        charts=[c[0] for c in CHARTS],
    )


@router.get("/{job_id}/live")
async def detail_live(
    request: Request, session: SessionDep, api: ApiDep, job_id: str, task: str = ""
) -> Response:
    check_task(tasks_of(await api.get(f"{JOBS}/{segment(job_id)}")), task)
    return live.stream(request, session, _detail_producer(job_id, task), poll_s=DETAIL_POLL_S)


@router.post("/{job_id}/{verb}")
async def act(
    request: Request, session: SessionDep, api: ApiDep, job_id: str, verb: str
) -> Response:
    await checked_form(request, session)
    path = f"{JOBS}/{segment(job_id)}"
    if verb == "terminate":
        await api.post(f"{path}/actions", {"action_type": "terminate"})
        return flash("Termination requested.")
    if verb == "delete":
        await api.delete(path)
        return flash("Deletion requested.")
    return flash(error=ApiError(404, "Console.0404", f"No action {verb} for training jobs."))
