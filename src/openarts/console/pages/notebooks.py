"""Notebook instances: the list with live statuses, create, start/stop/delete, lease,
mounts, and the route that opens Jupyter (the instance's Jupyter token never goes into a
page: only that route, after checking the session, sends the browser there with it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from openarts.console import live
from openarts.console.api_client import ApiError, ConsoleApi, segment
from openarts.console.errors import FormError, flash
from openarts.console.pages.common import ListPage, form_failure, items, number, page
from openarts.console.rendering import render
from openarts.console.session import ApiDep, SessionDep, checked_form

router = APIRouter(prefix="/console/notebooks", include_in_schema=False)
NOTEBOOKS = "/v1/{project_id}/notebooks"
HOUR_MS = 3600 * 1000


def jupyter_link(notebook: dict[str, Any]) -> str:
    """The notebook's url from the API, with the instance's own Jupyter token (what
    Jupyter asks for; it is not the platform's token)."""
    url = str(notebook.get("url") or "")
    if url and notebook.get("token"):
        url += ("&" if "?" in url else "?") + "token=" + quote(str(notebook["token"]), safe="")
    return url


async def _rows(api: ConsoleApi) -> live.Update:
    notebooks = items(await api.get(NOTEBOOKS, limit=100), "data")
    return live.Update({"rows": render("notebooks/rows.html", notebooks=notebooks)})


async def _form_choices(api: ConsoleApi) -> dict[str, Any]:
    images = items(await api.get("/v1/{project_id}/images", limit=100), "data")
    flavors = items(await api.get(NOTEBOOKS + "/flavors", limit=100), "data", "flavors")
    return {"images": images, "flavors": flavors}


LIST = ListPage("notebooks/list.html", "Notebooks", _form_choices)


@router.get("")
async def list_page(request: Request, session: SessionDep, api: ApiDep) -> Response:
    return await LIST.show(request, session, api, _rows)


@router.get("/live")
async def list_live(request: Request, session: SessionDep) -> StreamingResponse:
    return live.stream(request, session, _rows)


def create_body(form: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "flavor": form.get("flavor", ""),
        "image_id": form.get("image_id", ""),
        "volume": {"category": "EVS", "ownership": "MANAGED"},
    }
    if form.get("description"):
        body["description"] = form["description"]
    hours = number(form, "lease_hours")
    if hours is not None:
        body["lease"] = {"duration": hours * HOUR_MS, "type": "TIMING"}
    return body


@router.post("")
async def create(request: Request, session: SessionDep, api: ApiDep) -> Response:
    form = await checked_form(request, session)
    try:
        created = await api.post(NOTEBOOKS, create_body(form))
    except (ApiError, FormError) as error:
        context, status = form_failure(error)
        return await LIST.show(
            request, session, api, _rows, form=form, status_code=status, **context
        )
    return RedirectResponse(f"/console/notebooks/{segment(created['id'])}", status_code=303)


def _detail_producer(notebook_id: str) -> live.Produce:
    path = f"{NOTEBOOKS}/{segment(notebook_id)}"

    async def produce(api: ConsoleApi) -> live.Update:
        notebook = await api.get(path)
        mounts = items(await api.get(f"{path}/storage"), "data")
        return live.Update({"state": render("notebooks/state.html", nb=notebook, mounts=mounts)})

    return produce


@router.get("/{notebook_id}")
async def detail(request: Request, session: SessionDep, api: ApiDep, notebook_id: str) -> Response:
    notebook = await api.get(f"{NOTEBOOKS}/{segment(notebook_id)}")
    update = await _detail_producer(notebook_id)(api)
    return await page(
        request,
        session,
        api,
        "notebooks/detail.html",
        title=f"Notebook {notebook.get('name')}",
        nb=notebook,
        state=update.parts["state"],
    )


@router.get("/{notebook_id}/live")
async def detail_live(request: Request, session: SessionDep, notebook_id: str) -> Response:
    return live.stream(request, session, _detail_producer(notebook_id))


@router.get("/{notebook_id}/open")
async def open_jupyter(
    request: Request, session: SessionDep, api: ApiDep, notebook_id: str
) -> Response:
    """To Jupyter with the instance's token: asked for afresh with the session, so the
    token is in no page, no stream and no browser history of the console."""
    notebook = await api.get(f"{NOTEBOOKS}/{segment(notebook_id)}")
    if notebook.get("status") != "RUNNING" or not notebook.get("url"):
        status = notebook.get("status")
        raise ApiError(409, "Console.0409", f"Jupyter opens once the notebook runs ({status}).")
    return RedirectResponse(
        jupyter_link(notebook),
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def _lease(api: ConsoleApi, path: str, form: dict[str, str]) -> Response:
    hours = number(form, "hours")
    if hours is None:
        raise FormError("hours", "How many hours from now? It is empty.")
    await api.patch(
        f"{path}/lease", {"duration": hours * HOUR_MS, "type": "TIMING"}, duration=hours * HOUR_MS
    )
    return flash(f"Lease set to {hours} h from now.")


@router.post("/{notebook_id}/{verb}")
async def act(
    request: Request, session: SessionDep, api: ApiDep, notebook_id: str, verb: str
) -> Response:
    form = await checked_form(request, session)
    path = f"{NOTEBOOKS}/{segment(notebook_id)}"
    if verb in ("start", "stop"):
        await api.post(f"{path}/{verb}")
        return flash(f"{verb.capitalize()} requested.")
    if verb == "delete":
        await api.delete(path)
        return flash("Deletion requested.")
    if verb == "lease":
        return await _lease(api, path, form)
    if verb == "mount":
        body = {"category": "OBS", "uri": form.get("uri", ""), "mount_path": form.get("mount_path")}
        await api.post(f"{path}/storage", body)
        return flash("Mount requested.")
    if verb == "unmount":
        await api.delete(f"{path}/storage/{segment(form.get('storage_id', ''))}")
        return flash("Unmount requested.")
    return flash(error=ApiError(404, "Console.0404", f"No action {verb} for notebooks."))
