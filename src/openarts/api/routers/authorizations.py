"""Authorization management: /v2/{project_id}/authorizations and /v2/{project_id}/agency."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openarts.api.deps import AdminCallerDep, BoxDep, SessionDep
from openarts.domain.authorizations import AuthorizationSortKey, AuthorizationType, SortOrder
from openarts.schemas.authorizations import (
    AgencyRequest,
    AgencyResponse,
    AuthorizationList,
    AuthorizationRequest,
    AuthorizationResponse,
)
from openarts.schemas.common import ERROR_RESPONSES, MAX_OFFSET, ResultBody
from openarts.services import authorizations

router = APIRouter(prefix="/v2/{project_id}", tags=["Authorization"], responses=ERROR_RESPONSES)


@router.get("/authorizations", response_model=AuthorizationList, summary="View authorizations")
async def list_authorizations(
    caller: AdminCallerDep,
    session: SessionDep,
    sort_by: Annotated[AuthorizationSortKey, Query()] = AuthorizationSortKey.USER_NAME,
    order: Annotated[SortOrder, Query()] = SortOrder.ASC,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AuthorizationList:
    page = await authorizations.list_authorizations(
        session,
        project_id=caller.project_id,
        sort_by=sort_by,
        order=order,
        limit=limit,
        offset=offset,
    )
    rows, total = page.items, page.total
    return AuthorizationList(
        total_count=total,
        auth=[
            AuthorizationResponse(
                user_id=row.user_id,
                user_name=row.user_name,
                type=AuthorizationType(row.type),
                content=row.content,
                create_time=row.created_at,
            )
            for row in rows
        ],
    )


@router.post("/authorizations", response_model=ResultBody, summary="Configure authorization")
async def configure_authorization(
    body: AuthorizationRequest, caller: AdminCallerDep, session: SessionDep, box: BoxDep
) -> ResultBody:
    await authorizations.configure_authorization(
        session,
        box,
        project_id=caller.project_id,
        request=authorizations.NewAuthorization(
            content=body.content, type=body.type, user_id=body.user_id, secret_key=body.secret_key
        ),
    )
    return ResultBody()


@router.delete("/authorizations", response_model=ResultBody, summary="Delete authorization")
async def delete_authorizations(
    caller: AdminCallerDep,
    session: SessionDep,
    user_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> ResultBody:
    await authorizations.delete_authorizations(
        session, project_id=caller.project_id, user_id=user_id
    )
    return ResultBody()


@router.post("/agency", response_model=AgencyResponse, summary="Create a ModelArts agency")
async def create_agency(
    caller: AdminCallerDep, session: SessionDep, body: AgencyRequest | None = None
) -> AgencyResponse:
    name = await authorizations.create_agency(
        session,
        project_id=caller.project_id,
        suffix=body.agency_name_suffix if body else None,
    )
    return AgencyResponse(agency_name=name)
