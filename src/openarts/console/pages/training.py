"""Training jobs: the list with filters, create (from an algorithm, or from code and an
engine), and the detail page with status, tasks, live log, metrics charts and events."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from openarts.console import live, units
from openarts.console.api_client import ApiError, ConsoleApi, segment
from openarts.console.errors import FormError, flash
from openarts.console.pages.common import (
    ListPage,
    filtered_rows,
    form_failure,
    items,
    number,
    page,
    pairs,
)
from openarts.console.rendering import duration, render
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
# The metrics API's series (services/training_metrics.py says what each measures), as
# the charts group them: title, the unit of the values, and each series' legend.
CHARTS = [
    ("CPU", "%", [("cpuUsage", "CPU, % of the flavor's vCPUs")]),
    ("Memory", "%", [("memUsage", "Memory, % of the flavor's memory")]),
    (
        "GPU",
        "%",
        [("gpuUtil", "GPU busy, %"), ("gpuMemUsage", "GPU memory, % of the flavor's")],
    ),
]
# How a sentence names each chart's samples.
IN_WORDS = {"CPU": "CPU", "Memory": "memory", "GPU": "GPU"}
GPU_CHART = "GPU"


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
    async def rows(api: ConsoleApi) -> str:
        jobs = await search(api, phase, name)
        return render("training/rows.html", jobs=jobs, filtered=bool(phase or name))

    return filtered_rows(phase, PHASES, "phase", rows)


def flavor_label(flavor: dict[str, Any]) -> str:
    """A training flavor by its name once, with what it has where the API says."""
    info = flavor.get("flavor_info") or {}
    parts = [str(flavor.get("flavor_name") or flavor.get("flavor_id") or "")]
    cores = (info.get("cpu") or {}).get("core_num")
    if cores:
        parts.append(units.cpus(float(cores)))
    memory = info.get("memory") or {}
    if memory.get("size"):
        parts.append(f"{memory['size']} {memory.get('unit') or 'MiB'}")
    gpu = info.get("gpu") or {}
    if gpu.get("unit_num"):
        kind = f" ({gpu['type']})" if gpu.get("type") else ""
        parts.append(units.gpus(float(gpu["unit_num"])) + kind)
    return " · ".join(parts)


def has_gpu(flavors: list[dict[str, Any]], flavor_id: str) -> bool:
    """Whether a job's flavor has GPUs; True for a flavor the list does not know (its
    GPU chart is then shown, and says what it has)."""
    for flavor in flavors:
        if flavor.get("flavor_id") == flavor_id:
            return bool((flavor.get("flavor_info") or {}).get("gpu")) or flavor.get(
                "flavor_type"
            ) in ("GPU", "NPU")
    return True


async def _flavors(api: ConsoleApi) -> list[dict[str, Any]]:
    return items(await api.get("/v2/{project_id}/training-job-flavors"), "flavors")


async def _choices(api: ConsoleApi) -> dict[str, Any]:
    engines = items(await api.get("/v2/{project_id}/training-job-engines"), "items")
    flavors = await _flavors(api)
    algorithms = items(await api.get("/v2/{project_id}/algorithms", limit=50), "items")
    pools = items(await api.get("/v2/{project_id}/pools"), "items")
    return {
        "engines": engines,
        "flavors": [(f.get("flavor_id"), flavor_label(f)) for f in flavors],
        "algorithms": algorithms,
        "pools": pools,
    }


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


def _ran(job: dict[str, Any]) -> str:
    return duration(job.get("status", {}).get("duration"))


def _no_chart(job: dict[str, Any], title: str, label: str, values: list[float | None]) -> str:
    """What a chart without a line says instead: true for the job as it is now (one
    that has ended will never get its first sample, say, and one that ran under a minute
    has one per-minute value, which is no line)."""
    status = job.get("status", {})
    ended = status.get("phase") in FINISHED
    if not status.get("start_time"):
        if ended:
            return "This job ended before it started: it has no samples."
        return "No samples yet: the job has not started."
    shown = [v for v in values if v is not None]
    if not shown:
        if ended:
            return (
                f"This job ended before any {IN_WORDS[title]} sample was taken "
                f"(it ran {_ran(job)})."
            )
        return f"No {IN_WORDS[title]} samples yet: the first comes within seconds of the start."
    # One value, no line: the metrics API averages a task's samples per minute of its run.
    value = f"{shown[-1]:.1f} % ({label})"
    if len(values) > 1:
        return f"Only one minute of the run has a sample: {value}."
    if ended:
        return f"The job ran {_ran(job)}, under a minute: one per-minute average, {value}."
    return f"One per-minute average so far, {value}; the line starts in the second minute."


def metrics_charts(
    job: dict[str, Any], series: list[dict[str, Any]], *, gpu: bool = True
) -> list[dict[str, Any]]:
    """uPlot's data per chart: one point a minute from the job's start (the GPU chart
    only for a flavor with GPUs, where ``gpu`` says so)."""
    by_name = {s.get("metric"): s.get("value") or [] for s in series}
    start = int(job.get("status", {}).get("start_time") or 0) // 1000
    charts = []
    for title, unit, names in CHARTS:
        if title == GPU_CHART and not gpu:
            continue
        # The API's mark for a minute without a value is -1: a gap, not a value.
        shown = [
            (label, [None if x is None or x < 0 else x for x in by_name[n]])
            for n, label in names
            if n in by_name
        ]
        length = max((len(v) for _, v in shown), default=0)
        first = shown[0] if shown else (title, [])
        charts.append(
            {
                "title": title,
                "unit": unit,
                "x": [start + 60 * i for i in range(length)],
                "series": [{"label": label, "values": values} for label, values in shown],
                "empty": _no_chart(job, title, first[0], first[1]),
            }
        )
    return charts


async def _log(api: ConsoleApi, job: str, task: str) -> str:
    answer = await api.get(f"{JOBS}/{job}/tasks/{segment(task)}/logs/preview")
    return str((answer or {}).get("content", ""))


async def _events_html(api: ConsoleApi, job: str) -> str:
    answer = await api.get(f"{JOBS}/{job}/events", limit=50)
    return render("training/events.html", events=items(answer, "events"))


async def _charts(api: ConsoleApi, job: dict[str, Any], task: str, gpu: bool) -> dict[str, str]:
    # One metrics call for all the charts: they are views of the same answer.
    answer = await api.get(f"{JOBS}/{segment(job['metadata']['id'])}/metrics/{segment(task)}")
    charts = metrics_charts(job, items(answer, "metrics"), gpu=gpu)
    return {f"chart-{i}": json.dumps(chart) for i, chart in enumerate(charts)}


def _detail_producer(job_id: str, task: str, gpu: bool = True) -> live.Produce:
    """Every part of a job's page from one job answer per poll: status, actions and log
    each poll, events and charts when due, everything once more when the job is finished
    (its last lines and samples are then all there)."""
    schedule = live.Schedule(events=EVENTS_EVERY_S, charts=CHARTS_EVERY_S)
    job_path = segment(job_id)

    async def produce(api: ConsoleApi) -> live.Update:
        job = await api.get(f"{JOBS}/{job_path}")
        final = job.get("status", {}).get("phase") in FINISHED
        parts = {
            "state": render("training/state.html", job=job),
            "actions": render("training/actions.html", job=job),
            "log": await _log(api, job_path, task),
        }
        if schedule.due("events") or final:
            parts["events"] = await _events_html(api, job_path)
        if schedule.due("charts") or final:
            parts.update(await _charts(api, job, task, gpu))
        return live.Update(parts, final)

    return produce


def _resource(job: dict[str, Any]) -> dict[str, Any]:
    return dict((job.get("spec") or {}).get("resource") or {})


@router.get("/{job_id}")
async def detail(
    request: Request, session: SessionDep, api: ApiDep, job_id: str, task: str = ""
) -> Response:
    job = await api.get(f"{JOBS}/{segment(job_id)}")
    tasks = tasks_of(job)
    task = task or tasks[0]
    check_task(tasks, task)
    gpu = has_gpu(await _flavors(api), str(_resource(job).get("flavor_id", "")))
    update = await _detail_producer(job_id, task, gpu)(api)
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
        charts=[c[0] for c in CHARTS if gpu or c[0] != GPU_CHART],
    )


@router.get("/{job_id}/live")
async def detail_live(
    request: Request, session: SessionDep, api: ApiDep, job_id: str, task: str = ""
) -> Response:
    job = await api.get(f"{JOBS}/{segment(job_id)}")
    check_task(tasks_of(job), task)
    gpu = has_gpu(await _flavors(api), str(_resource(job).get("flavor_id", "")))
    return live.stream(request, session, _detail_producer(job_id, task, gpu), poll_s=DETAIL_POLL_S)


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
