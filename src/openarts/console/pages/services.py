"""Real-time services: deploy, the detail page (replicas, traffic weights, monitor chart,
events, update log) and a form that sends a test request through the inference gateway."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import unquote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from openarts.console import live, service_latency
from openarts.console.api_client import (
    ApiError,
    ConsoleApi,
    SessionExpired,
    ends_session,
    error_of,
    front_of,
    segment,
)
from openarts.console.errors import FormError, flash
from openarts.console.pages.common import (
    ListPage,
    filtered_rows,
    form_failure,
    items,
    number,
    page,
)
from openarts.console.rendering import render
from openarts.console.session import ApiDep, SessionDep, checked_form
from openarts.console.states import SERVICE_STATUSES

router = APIRouter(prefix="/console/services", include_in_schema=False)
SERVICES = "/v1/{project_id}/services"
# The request-rate chart keeps this many points (one per sample).
RATE_POINTS = 120
DETAIL_POLL_S = 1.5
CHARTS_EVERY_S = 5.0
# Fields of a config entry the details answer has and an update does not take.
OUTPUT_ONLY = {
    "model_name",
    "model_version",
    "finished_time",
    "source_type",
    "start_time",
    "status",
    "scaling",
    "support_debug",
}


def _rows_producer(status: str, name: str) -> live.Produce:
    async def rows(api: ConsoleApi) -> str:
        # Filtered by the API itself (status, and a fragment of the name).
        answer = await api.get(SERVICES, limit=100, status=status, service_name=name)
        return render(
            "services/rows.html",
            services=items(answer, "services"),
            filtered=bool(status or name),
        )

    return filtered_rows(status, SERVICE_STATUSES, "service status", rows)


def spec_label(spec: dict[str, Any]) -> str:
    """A specification by its name once, with what it has ("0.25 vCPUs, 0.5 GiB")."""
    name = str(spec.get("specification") or "")
    said = str(spec.get("display_en") or "").replace(" | ", ", ")
    return f"{name} · {said}" if said and said != name else name


async def _choices(api: ConsoleApi) -> dict[str, Any]:
    models = items(await api.get("/v1/{project_id}/models", limit=100), "models")
    specs = items(await api.get(SERVICES + "/specifications"), "specifications")
    return {
        "models": models,
        "specs": [(s.get("specification"), spec_label(s)) for s in specs],
    }


LIST = ListPage("services/list.html", "Services", _choices)


@router.get("")
async def list_page(
    request: Request,
    session: SessionDep,
    api: ApiDep,
    status: str = "",
    name: str = "",
    model_id: str = "",
) -> Response:
    # ?model_id= comes from a model's Deploy button: the deploy form starts with it.
    return await LIST.show(
        request,
        session,
        api,
        _rows_producer(status, name),
        form={"model_id": model_id} if model_id else None,
        status=status,
        name=name,
        statuses=SERVICE_STATUSES,
    )


@router.get("/live")
async def list_live(
    request: Request, session: SessionDep, status: str = "", name: str = ""
) -> Response:
    return live.stream(request, session, _rows_producer(status, name))


def deploy_body(form: dict[str, str]) -> dict[str, Any]:
    return {
        "service_name": form.get("name", "").strip(),
        "infer_type": "real-time",
        "description": form.get("description", ""),
        "config": [
            {
                "model_id": form.get("model_id", ""),
                "weight": 100,
                "specification": form.get("specification", ""),
                "instance_count": number(form, "instance_count", default=1),
            }
        ],
    }


@router.post("")
async def deploy(request: Request, session: SessionDep, api: ApiDep) -> Response:
    form = await checked_form(request, session)
    try:
        created = await api.post(SERVICES, deploy_body(form))
    except (ApiError, FormError) as error:
        context, status = form_failure(error)
        return await LIST.show(
            request,
            session,
            api,
            _rows_producer("", ""),
            form=form,
            status_code=status,
            status="",
            name="",
            statuses=SERVICE_STATUSES,
            **context,
        )
    return RedirectResponse(f"/console/services/{segment(created['service_id'])}", status_code=303)


def rate_chart(points: list[tuple[float, int, int]], calls: int) -> dict[str, Any]:
    """Requests and failures per second between samples of the monitor's running totals
    (the monitor API gives totals, not a series: the stream keeps the series)."""
    pairs = list(itertools.pairwise(points))
    return {
        "title": "Requests per second",
        "unit": "req/s",
        "x": [b[0] for _, b in pairs],
        "series": [
            {
                "label": "Requests, per second",
                "values": [(b[1] - a[1]) / (b[0] - a[0]) for a, b in pairs],
            },
            {
                "label": "Failed requests, per second",
                "values": [(b[2] - a[2]) / (b[0] - a[0]) for a, b in pairs],
            },
        ],
        "empty": f"{calls} requests so far; the rate shows from the next sample.",
    }


def latency_chart(
    points: list[tuple[float, float | None, float | None]], largest_bound_s: float | None
) -> dict[str, Any]:
    p95 = "95th percentile, ms (bucket bound)"
    if largest_bound_s is not None:
        # Past the histogram's largest bound it cannot say how slow: a gap, not a guess.
        p95 += f"; a gap where it is over {largest_bound_s:g} s"
    return {
        "title": "Latency through the gateway",
        "unit": "ms",
        "x": [point[0] for point in points],
        "series": [
            {"label": "Mean, ms", "values": [point[1] for point in points]},
            {"label": p95, "values": [point[2] for point in points]},
        ],
        "empty": "No calls answered since the page opened.",
    }


class _Charts:
    """The series a service's page draws, kept by its stream between samples."""

    def __init__(self, service_id: str) -> None:
        self.service_id = service_id
        self.rate: list[tuple[float, int, int]] = []
        self.samples: list[tuple[float, service_latency.LatencySample]] = []
        self.latency: list[tuple[float, float | None, float | None]] = []

    def rate_part(self, monitor: Any) -> str:
        monitors = items(monitor, "monitors")
        calls = sum(int(m.get("invocation_times") or 0) for m in monitors)
        failed = sum(int(m.get("failed_times") or 0) for m in monitors)
        self.rate.append((time.time(), calls, failed))
        del self.rate[:-RATE_POINTS]
        return json.dumps(rate_chart(self.rate, calls))

    async def latency_part(self, api: ConsoleApi) -> str:
        # The gateway's histogram, which GET /metrics?project_id= gives the project's
        # members (the monitor API reports no latency).
        text = await api.get("/metrics", project_id=api.project_id)
        sample = service_latency.sample_of(str(text), self.service_id)
        self.samples.append((time.time(), sample))
        del self.samples[:-2]
        if len(self.samples) == 2:
            before, after = self.samples[0][1], self.samples[1][1]
            self.latency.append((self.samples[1][0], *service_latency.between(before, after)))
            del self.latency[:-RATE_POINTS]
        return json.dumps(latency_chart(self.latency, service_latency.largest_bound_s(sample)))


def _detail_producer(service_id: str) -> live.Produce:
    """Every part of a service's page: state and history each poll, the charts when due,
    from one service and one monitor answer."""
    path = f"{SERVICES}/{segment(service_id)}"
    schedule = live.Schedule(charts=CHARTS_EVERY_S)
    charts = _Charts(service_id)

    async def produce(api: ConsoleApi) -> live.Update:
        service = await api.get(path)
        monitor = await api.get(f"{path}/monitor")
        events = items(await api.get(f"{path}/events", limit=50), "events")
        logs = items(await api.get(f"{path}/logs"), "logs")
        parts = {
            "state": render("services/state.html", svc=service, monitor=monitor),
            "actions": render("services/actions.html", svc=service),
            "config": render("services/config.html", svc=service),
            "history": render("services/history.html", events=events, logs=logs),
        }
        if schedule.due("charts"):
            parts["rate"] = charts.rate_part(monitor)
            parts["latency"] = await charts.latency_part(api)
        return live.Update(parts)

    return produce


@router.get("/{service_id}")
async def detail(request: Request, session: SessionDep, api: ApiDep, service_id: str) -> Response:
    service = await api.get(f"{SERVICES}/{segment(service_id)}")
    update = await _detail_producer(service_id)(api)
    return await page(
        request,
        session,
        api,
        "services/detail.html",
        title=f"Service {service.get('service_name')}",
        svc=service,
        parts=update.parts,
    )


@router.get("/{service_id}/live")
async def detail_live(request: Request, session: SessionDep, service_id: str) -> Response:
    return live.stream(request, session, _detail_producer(service_id), poll_s=DETAIL_POLL_S)


async def send_test_request(
    request: Request, token: str, service_id: str, path: str, body: str
) -> httpx.Response:
    """Through the platform's inference gateway, as any client of the service calls it."""
    timeout_s: float = request.app.state.infer_timeout_s
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=front_of(request)),
        base_url="http://openarts",
        timeout=timeout_s + 5,
    ) as client:
        return await client.post(
            f"/v1/infers/{segment(service_id)}/{path.lstrip('/')}",
            content=body.encode(),
            headers={"X-Auth-Token": token, "Content-Type": "application/json"},
        )


def climbs_out(path: str) -> bool:
    """Whether a path for the service would leave it: ``..`` (or ``.``) segments, also
    percent-encoded (decoded until nothing changes, as a server down the line might), or
    a backslash some servers take for a slash."""
    decoded, previous = path, None
    while decoded != previous:
        previous, decoded = decoded, unquote(decoded)
    return "\\" in decoded or any(part in (".", "..") for part in decoded.split("/"))


@router.post("/{service_id}/test")
async def test_request(request: Request, session: SessionDep, service_id: str) -> Response:
    form = await checked_form(request, session)
    path = form.get("path", "")
    if climbs_out(path):
        bad = ApiError(400, "Console.0400", "The path must stay under the service's address.")
        return Response(
            render("services/answer.html", status=400, body="", error=bad), media_type="text/html"
        )
    answer = await send_test_request(request, session.token, service_id, path, form.get("body", ""))
    # A 401 from the user's model (relayed by the gateway) is the model's answer to show;
    # only the platform's own refusal of the token ends the session.
    if ends_session(answer):
        raise SessionExpired(error_of(answer).error_msg)
    try:
        shown = json.dumps(answer.json(), indent=2, ensure_ascii=False)
    except ValueError:
        shown = answer.text
    error = error_of(answer) if answer.status_code >= 400 else None
    html = render("services/answer.html", status=answer.status_code, body=shown, error=error)
    return Response(html, media_type="text/html")


def updated_config(service: dict[str, Any], form: dict[str, str]) -> list[dict[str, Any]]:
    """Each model's config as it is, with only its weight and replicas from the form (an
    update replaces the whole config: what it leaves out would be lost)."""
    config = []
    for entry in service.get("config") or []:
        model_id = entry.get("model_id")
        kept = {k: v for k, v in entry.items() if k not in OUTPUT_ONLY and v is not None}
        kept["weight"] = number(form, f"weight-{model_id}", default=entry.get("weight"), minimum=0)
        kept["instance_count"] = number(
            form, f"count-{model_id}", default=entry.get("instance_count")
        )
        config.append(kept)
    return config


@router.post("/{service_id}/{verb}")
async def act(
    request: Request, session: SessionDep, api: ApiDep, service_id: str, verb: str
) -> Response:
    form = await checked_form(request, session)
    path = f"{SERVICES}/{segment(service_id)}"
    if verb in ("stop", "start"):
        await api.put(path, {"status": "stopped" if verb == "stop" else "running"})
        return flash(f"{verb.capitalize()} requested.")
    if verb == "delete":
        await api.delete(path)
        return flash("Deletion requested.")
    if verb == "config":
        await api.put(path, {"config": updated_config(await api.get(path), form)})
        return flash("Update requested.")
    return flash(error=ApiError(404, "Console.0404", f"No action {verb} for services."))
