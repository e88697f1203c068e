"""Algorithms (v2): reusable training code, engine, hyperparameters and channels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from openarts.api.deps import CallerDep, SessionDep, TrainingDep
from openarts.api.training_views import algorithm_view
from openarts.schemas.algorithms import (
    ALGORITHM_LIST_MAX_LIMIT,
    AlgorithmCreateIn,
    AlgorithmListOut,
    AlgorithmOut,
    AlgorithmSortKey,
    AlgorithmUpdateIn,
    SortOrder,
)
from openarts.schemas.common import ERROR_RESPONSES, MAX_OFFSET
from openarts.services import algorithms as service
from openarts.services import training_specs as specs

router = APIRouter(prefix="/v2/{project_id}", tags=["Training"], responses=ERROR_RESPONSES)


@router.post(
    "/algorithms",
    status_code=201,
    response_model=AlgorithmOut,
    response_model_exclude_none=True,
    summary="Create an algorithm",
)
async def create_algorithm(
    body: AlgorithmCreateIn, caller: CallerDep, session: SessionDep, training: TrainingDep
) -> AlgorithmOut:
    algorithm = await service.create_algorithm(session, caller, body, training.engines)
    return algorithm_view(algorithm)


@router.get(
    "/algorithms",
    response_model=AlgorithmListOut,
    response_model_exclude_none=True,
    summary="List algorithms",
)
async def list_algorithms(
    caller: CallerDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=ALGORITHM_LIST_MAX_LIMIT)] = 10,
    sort_by: Annotated[AlgorithmSortKey, Query()] = "create_time",
    order: Annotated[SortOrder, Query()] = "desc",
    searches: Annotated[str | None, Query(max_length=1024)] = None,
) -> AlgorithmListOut:
    name = None
    if searches:
        key, _, value = searches.partition(":")
        if key != "name" or not value:
            raise specs.bad(f"searches {searches!r}: use name:<part of a name>")
        name = value
    page = await service.list_algorithms(
        session,
        caller.project_id,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        ascending=order == "asc",
        name_contains=name,
    )
    return AlgorithmListOut(
        total=page.total,
        count=len(page.items),
        limit=limit,
        offset=offset,
        sort_by=sort_by,
        order=order,
        items=[algorithm_view(a) for a in page.items],
    )


@router.get(
    "/algorithms/{algorithm_id}",
    response_model=AlgorithmOut,
    response_model_exclude_none=True,
    summary="Show an algorithm",
)
async def show_algorithm(algorithm_id: str, caller: CallerDep, session: SessionDep) -> AlgorithmOut:
    return algorithm_view(await service.get_algorithm(session, caller.project_id, algorithm_id))


@router.put(
    "/algorithms/{algorithm_id}",
    status_code=201,
    response_model=AlgorithmOut,
    response_model_exclude_none=True,
    summary="Change an algorithm",
)
async def update_algorithm(
    algorithm_id: str,
    body: AlgorithmUpdateIn,
    caller: CallerDep,
    session: SessionDep,
    training: TrainingDep,
) -> AlgorithmOut:
    algorithm = await service.update_algorithm(
        session, caller, algorithm_id, body, training.engines
    )
    return algorithm_view(algorithm)


@router.delete("/algorithms/{algorithm_id}", status_code=202, summary="Delete an algorithm")
async def delete_algorithm(algorithm_id: str, caller: CallerDep, session: SessionDep) -> Response:
    await service.delete_algorithm(session, caller, algorithm_id)
    return Response(status_code=202)
