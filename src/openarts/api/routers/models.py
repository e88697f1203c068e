"""Model management (v1): import a model, list, show and delete models, and the runtimes
models are served in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request

from openarts.api.deps import CallerDep, SessionDep, TrainingDep, parts_of
from openarts.api.model_views import detail, engine_runtimes, list_item
from openarts.domain.models import runtime_catalog
from openarts.schemas.common import ERROR_RESPONSES
from openarts.schemas.models import (
    EngineRuntimePage,
    ModelCreate,
    ModelCreated,
    ModelDeleteQuery,
    ModelDeleteResult,
    ModelDetail,
    ModelListQuery,
    ModelPage,
    RuntimeListQuery,
)
from openarts.services import models as service
from openarts.services import registry_images

router = APIRouter(prefix="/v1/{project_id}", tags=["Models"], responses=ERROR_RESPONSES)


@router.post("/models", response_model=ModelCreated, summary="Import a model")
async def create_model(
    body: ModelCreate, caller: CallerDep, session: SessionDep, training: TrainingDep
) -> ModelCreated:
    model = await service.create_model(
        session, caller.project_id, body, registry_address=training.registry_address
    )
    return ModelCreated(model_id=model.id)


@router.get(
    "/models", response_model=ModelPage, summary="List models", response_model_exclude_none=True
)
async def list_models(
    query: Annotated[ModelListQuery, Query()], caller: CallerDep, session: SessionDep
) -> ModelPage:
    page = await service.list_models(session, caller.project_id, query)
    rows, total = page.items, page.total
    return ModelPage(models=[list_item(row) for row in rows], total_count=total, count=len(rows))


@router.get(
    "/models/ai-engine-runtimes",
    response_model=EngineRuntimePage,
    summary="List the AI engines and runtimes models are served in",
    response_model_exclude_none=True,
)
async def list_runtimes(
    query: Annotated[RuntimeListQuery, Query()], caller: CallerDep
) -> EngineRuntimePage:
    engines = engine_runtimes(runtime_catalog())
    end = None if query.limit is None else query.offset + query.limit
    page = engines[query.offset : end]
    return EngineRuntimePage(count=len(page), total_count=len(engines), engine_runtimes=page)


@router.get(
    "/models/{model_id}",
    response_model=ModelDetail,
    summary="Show a model",
    response_model_exclude_none=True,
)
async def show_model(model_id: str, caller: CallerDep, session: SessionDep) -> ModelDetail:
    return detail(await service.get_model(session, caller.project_id, model_id))


@router.delete(
    "/models/{model_id}",
    response_model=ModelDeleteResult,
    summary="Delete a model (with cascade, every version of its name)",
)
async def delete_model(
    model_id: str,
    query: Annotated[ModelDeleteQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> ModelDeleteResult:
    copies: list[str] = []
    deleted, failed = await service.delete_models(
        session, caller.project_id, model_id, cascade=query.cascade, copies=copies
    )
    registry = parts_of(request).image_registry
    if registry is not None:
        for image in copies:
            # After the answer, once the deletion has committed (no transaction waits on
            # the registry); a server that stops first leaves the copy, which no one can
            # reach.
            background.add_task(registry_images.remove_model_copy, registry, image)
    return ModelDeleteResult(delete_success_list=deleted, delete_failed_list=failed)
