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
from openarts.console.states import NOTEBOOK_STATUSES
from openarts.domain.engines import BUILTIN_ID
from openarts.domain.images import preset_images

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


def _rows_producer(status: str, name: str) -> live.Produce:
    async def rows(api: ConsoleApi) -> str:
        # Filtered by the API itself (status and a fragment of the name).
        answer = await api.get(NOTEBOOKS, limit=100, status=status, name=name)
        return render(
            "notebooks/rows.html", notebooks=items(answer, "data"), filtered=bool(status or name)
        )

    return filtered_rows(status, NOTEBOOK_STATUSES, "notebook status", rows)


def ready_images() -> set[str]:
    """The IDs of the images that start at once: the presets over the server's own
    environment (the others' engines are prepared on first use, which takes minutes).
    The images API does not say which is which; the preset catalog does."""
    return {p.id for p in preset_images() if p.engine_id == BUILTIN_ID}


def image_label(image: dict[str, Any], ready: set[str]) -> str:
    label = f"{image.get('name')}:{image.get('tag')}"
    if image.get("id") in ready:
        return f"{label} · ready, starts at once"
    if image.get("type") == "BUILD_IN":
        return f"{label} · its engine is prepared on first use (minutes)"
    return label


def flavor_label(flavor: dict[str, Any]) -> str:
    """The flavor's name once, with what it has (the API's description says it, as
    "0.5 vCPUs, 1 GiB")."""
    name = str(flavor.get("name") or flavor.get("id") or "")
    said = str(flavor.get("description") or "")
    return f"{name} · {said}" if said and said != name else name


async def _form_choices(api: ConsoleApi) -> dict[str, Any]:
    images = items(await api.get("/v1/{project_id}/images", limit=100), "data")
    flavors = items(await api.get(NOTEBOOKS + "/flavors", limit=100), "data", "flavors")
    ready = ready_images()
    # Offered first: what starts at once is what a first notebook should get.
    images.sort(key=lambda image: image.get("id") not in ready)
    return {
        "images": [(i.get("id"), image_label(i, ready)) for i in images],
        "flavors": [(f.get("id"), flavor_label(f)) for f in flavors],
        "default_image": next((i.get("id") for i in images if i.get("id") in ready), ""),
    }


LIST = ListPage("notebooks/list.html", "Notebooks", _form_choices)


@router.get("")
async def list_page(
    request: Request, session: SessionDep, api: ApiDep, status: str = "", name: str = ""
) -> Response:
    return await LIST.show(
        request,
        session,
        api,
        _rows_producer(status, name),
        status=status,
        name=name,
        statuses=NOTEBOOK_STATUSES,
    )


@router.get("/live")
async def list_live(
    request: Request, session: SessionDep, status: str = "", name: str = ""
) -> StreamingResponse:
    return live.stream(request, session, _rows_producer(status, name))


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
            request,
            session,
            api,
            _rows_producer("", ""),
            form=form,
            status_code=status,
            status="",
            name="",
            statuses=NOTEBOOK_STATUSES,
            **context,
        )
    return RedirectResponse(f"/console/notebooks/{segment(created['id'])}", status_code=303)


def _detail_producer(notebook_id: str) -> live.Produce:
    path = f"{NOTEBOOKS}/{segment(notebook_id)}"

    async def produce(api: ConsoleApi) -> live.Update:
        notebook = await api.get(path)
        mounts = items(await api.get(f"{path}/storage"), "data")
        return live.Update(
            {
                "state": render("notebooks/state.html", nb=notebook, mounts=mounts),
                "actions": render("notebooks/actions.html", nb=notebook),
            }
        )

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
        parts=update.parts,
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
