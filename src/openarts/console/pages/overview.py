"""The overview: counts, what runs, what failed recently, pool usage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from openarts.console import live, units
from openarts.console.api_client import ApiError, ConsoleApi, segment
from openarts.console.pages.common import items, page, total
from openarts.console.pages.pools import display_name
from openarts.console.pages.training import search_answer
from openarts.console.rendering import render
from openarts.console.session import ApiDep, SessionDep
from openarts.console.units import quantity

router = APIRouter(prefix="/console", include_in_schema=False)
RUNNING = {"RUNNING", "Running", "running", "deploying", "STARTING", "CREATING"}
FAILED = {"CREATE_FAILED", "START_FAILED", "ERROR", "Failed", "Abnormal", "failed"}


# Pools whose use the overview adds up (each costs a call).
MAX_POOLS = 10


async def pool_usage(api: ConsoleApi, pool_name: str) -> dict[str, int]:
    """Percent of the pool's CPU and memory in use, over its nodes."""
    nodes = items(await api.get(f"/v2/{{project_id}}/pools/{segment(pool_name)}/nodes"), "items")
    shares = {}
    for resource in ("cpu", "memory"):
        total = free = 0.0
        for node in nodes:
            status = node.get("status") or {}
            total += quantity((status.get("resources") or {}).get(resource))
            free += quantity((status.get("availableResources") or {}).get(resource))
        shares[resource] = round(100 * (total - free) / total) if total else 0
    return shares


async def summary(api: ConsoleApi) -> dict[str, Any]:
    notebook_answer = await api.get("/v1/{project_id}/notebooks", limit=100)
    notebooks = items(notebook_answer, "data")
    job_answer = await search_answer(api)
    jobs = items(job_answer, "items")
    service_answer = await api.get("/v1/{project_id}/services", limit=100)
    services = items(service_answer, "services")
    pools = items(await api.get("/v2/{project_id}/pools"), "items")
    public = await api.get("/v2/{project_id}/public-pool")
    rows = (
        [
            (
                "Notebook",
                n.get("name"),
                n.get("status"),
                f"/console/notebooks/{n.get('id')}",
                n.get("update_at") or n.get("create_at"),
            )
            for n in notebooks
        ]
        + [
            (
                "Training job",
                j["metadata"]["name"],
                j["status"]["phase"],
                f"/console/training-jobs/{j['metadata']['id']}",
                j["metadata"].get("create_time"),
            )
            for j in jobs
        ]
        + [
            (
                "Service",
                s.get("service_name"),
                s.get("status"),
                f"/console/services/{s.get('service_id')}",
                s.get("publish_at"),
            )
            for s in services
        ]
    )
    return {
        "usage": {
            p["metadata"]["name"]: await pool_usage(api, p["metadata"]["name"])
            for p in pools[:MAX_POOLS]
        },
        "counts": [
            # The lists are capped; the answers' totals are not.
            ("Notebooks", total(notebook_answer, "total", notebooks), "/console/notebooks"),
            ("Training jobs", total(job_answer, "total", jobs), "/console/training-jobs"),
            ("Services", total(service_answer, "total_count", services), "/console/services"),
            ("Pools", len(pools), "/console/pools"),
        ],
        "running": [r for r in rows if r[2] in RUNNING],
        "failed": sorted((r for r in rows if r[2] in FAILED), key=lambda r: -(r[4] or 0))[:10],
        "pools": pools,
        "public": {
            "usage": {
                key: units.share(
                    quantity((public.get("used") or {}).get(key)),
                    quantity((public.get("capacity") or {}).get(key)),
                )
                for key in ("cpu", "memory")
            },
            "running": public.get("running", 0),
            "waiting": public.get("waiting", 0),
        },
    }


async def _produce(api: ConsoleApi) -> live.Update:
    body = render("overview_body.html", display_name=display_name, **await summary(api))
    return live.Update({"overview": body})


@router.get("")
async def bare() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/")
async def overview(request: Request, session: SessionDep, api: ApiDep) -> Response:
    try:
        body = (await _produce(api)).parts["overview"]
    except ApiError as error:
        body = render("fragments/api_error.html", error=error)
    return await page(request, session, api, "overview.html", title="Overview", body=body)


@router.get("/live/overview")
async def overview_live(request: Request, session: SessionDep) -> Response:
    return live.stream(request, session, _produce, poll_s=3.0)
