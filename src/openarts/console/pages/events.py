"""Events across the project. The events API answers per resource, so the page asks each
kind's events API (pools, training jobs, services) and merges them by time."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openarts.console.api_client import ApiError, ConsoleApi, segment
from openarts.console.pages.common import items, page
from openarts.console.pages.pools import display_name
from openarts.console.pages.training import search
from openarts.console.session import ApiDep, SessionDep

router = APIRouter(prefix="/console/events", include_in_schema=False)
# How many resources of each kind are asked (the most recent ones).
PER_KIND = 20


def _ms(text: Any) -> int:
    if isinstance(text, int):
        return text
    try:
        return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


class _Collected:
    """The merged rows, and each call that failed (shown in words above the table, the
    rest of the page still drawn)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.failures: list[ApiError] = []

    async def answer(self, call: Awaitable[Any], *keys: str) -> list[dict[str, Any]]:
        try:
            return items(await call, *keys)
        except ApiError as error:
            self.failures.append(error)
            return []


async def _pool_events(api: ConsoleApi, found: _Collected) -> None:
    for pool in (await found.answer(api.get("/v2/{project_id}/pools"), "items"))[:PER_KIND]:
        name = pool["metadata"]["name"]
        call = api.get("/v1/{project_id}/events", resource="pools", name=name, limit=50)
        found.rows += [
            {
                "time": _ms(e.get("lastTimestamp")),
                "kind": "Pool",
                "name": display_name(pool),
                "href": f"/console/pools/{segment(name)}",
                "level": e.get("type"),
                "message": f"[{e.get('reason')}] {e.get('message')}",
            }
            for e in await found.answer(call, "items")
        ]


async def _job_events(api: ConsoleApi, found: _Collected) -> None:
    for job in (await found.answer(search(api)))[:PER_KIND]:
        job_id = segment(job["metadata"]["id"])
        call = api.get(f"/v2/{{project_id}}/training-jobs/{job_id}/events", limit=50)
        found.rows += [
            {
                "time": _ms(e.get("time")),
                "kind": "Training job",
                "name": job["metadata"]["name"],
                "href": f"/console/training-jobs/{job_id}",
                "level": e.get("level"),
                "message": e.get("message"),
            }
            for e in await found.answer(call, "events")
        ]


async def _service_events(api: ConsoleApi, found: _Collected) -> None:
    listing = api.get("/v1/{project_id}/services", limit=PER_KIND)
    for service in await found.answer(listing, "services"):
        service_id = segment(service.get("service_id"))
        call = api.get(f"/v1/{{project_id}}/services/{service_id}/events", limit=50)
        found.rows += [
            {
                "time": _ms(e.get("occur_time") or 0),
                "kind": "Service",
                "name": service.get("service_name"),
                "href": f"/console/services/{service_id}",
                "level": e.get("event_type"),
                "message": e.get("event_info"),
            }
            for e in await found.answer(call, "events")
        ]


async def project_events(api: ConsoleApi) -> tuple[list[dict[str, Any]], list[ApiError]]:
    found = _Collected()
    await _pool_events(api, found)
    await _job_events(api, found)
    await _service_events(api, found)
    found.rows.sort(key=lambda r: -r["time"])
    return found.rows[:300], found.failures


@router.get("")
async def events_page(request: Request, session: SessionDep, api: ApiDep) -> Response:
    rows, failures = await project_events(api)
    return await page(
        request, session, api, "events.html", title="Events", rows=rows, failures=failures
    )
