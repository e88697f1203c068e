"""The catalog: algorithms, and models (import, versions, detail). Images have a page of
their own (pages/images.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from openarts.console.api_client import ApiError, ConsoleApi, segment
from openarts.console.errors import flash
from openarts.console.pages.common import form_failure, items, page
from openarts.console.session import ApiDep, SessionDep, checked_form
from openarts.console.states import MODEL_STATUSES
from openarts.schemas.models import MODEL_TYPES

router = APIRouter(prefix="/console", include_in_schema=False)
MODEL_FIELDS = ("model_name", "model_version", "model_type", "source_location")


@router.get("/algorithms")
async def algorithms(request: Request, session: SessionDep, api: ApiDep) -> Response:
    found = items(await api.get("/v2/{project_id}/algorithms", limit=50), "items")
    return await page(
        request, session, api, "catalog/algorithms.html", title="Algorithms", algorithms=found
    )


@router.get("/algorithms/{algorithm_id}")
async def algorithm(
    request: Request, session: SessionDep, api: ApiDep, algorithm_id: str
) -> Response:
    shown = await api.get(f"/v2/{{project_id}}/algorithms/{segment(algorithm_id)}")
    name = shown.get("metadata", {}).get("name")
    return await page(
        request,
        session,
        api,
        "catalog/detail.html",
        title="Algorithm",
        heading=name,
        data=shown,
        trail=[("Algorithms", "/console/algorithms"), (name, None)],
    )


async def _models_page(
    request: Request,
    session: SessionDep,
    api: ConsoleApi,
    *,
    status: str = "",
    name: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
    **failure: Any,
) -> Response:
    """The models by name (filtered by the API, by status and a fragment of the name)
    and the import form (empty, or as sent with the API's error)."""
    if status and status not in MODEL_STATUSES:
        raise ApiError(400, "Console.0400", f"There is no model status {status!r}.")
    answer = await api.get(
        "/v1/{project_id}/models", limit=100, model_status=status, model_name=name
    )
    versions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for model in items(answer, "models"):
        versions[str(model.get("model_name"))].append(model)
    return await page(
        request,
        session,
        api,
        "catalog/models.html",
        title="Models",
        versions=dict(versions),
        form=form or {},
        status_code=status_code,
        statuses=MODEL_STATUSES,
        model_types=MODEL_TYPES,
        status=status,
        name=name,
        **failure,
    )


@router.get("/models")
async def models(
    request: Request, session: SessionDep, api: ApiDep, status: str = "", name: str = ""
) -> Response:
    return await _models_page(request, session, api, status=status, name=name)


@router.post("/models")
async def import_model(request: Request, session: SessionDep, api: ApiDep) -> Response:
    form = await checked_form(request, session)
    body = {key: form.get(key, "").strip() for key in MODEL_FIELDS}
    try:
        created = await api.post("/v1/{project_id}/models", body)
    except ApiError as error:
        context, status = form_failure(error)
        return await _models_page(request, session, api, form=form, status_code=status, **context)
    return RedirectResponse(f"/console/models/{segment(created['model_id'])}", status_code=303)


@router.get("/models/{model_id}")
async def model(request: Request, session: SessionDep, api: ApiDep, model_id: str) -> Response:
    shown = await api.get(f"/v1/{{project_id}}/models/{segment(model_id)}")
    heading = f"{shown.get('model_name')} {shown.get('model_version')}"
    return await page(
        request,
        session,
        api,
        "catalog/detail.html",
        title="Model",
        heading=heading,
        data=shown,
        status_word=shown.get("model_status"),
        trail=[("Models", "/console/models"), (heading, None)],
        model=shown,
    )


@router.post("/models/{model_id}/delete")
async def delete_model(
    request: Request, session: SessionDep, api: ApiDep, model_id: str
) -> Response:
    await checked_form(request, session)
    answer = await api.delete(f"/v1/{{project_id}}/models/{segment(model_id)}")
    # The API answers 200 with the refusal inside (a service still uses the model):
    # saying "deleted" then would tell the user something false. The status shown is
    # the one the API gave, not one made up for the refusal.
    refused = (answer or {}).get("delete_failed_list") or []
    if refused:
        first = refused[0]
        code, message = str(first.get("error_code", "")), str(first.get("error_msg", ""))
        return flash(error=ApiError(200, code, message))
    return flash("Model deleted.")
