"""Switching the session to another project of the user's."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from openarts.console.api_client import anonymous_call, error_of, front_of
from openarts.console.pages.common import page
from openarts.console.session import (
    PREFIX,
    ApiDep,
    SessionDep,
    checked_form,
    revoke,
    session_from,
    set_session_cookie,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.post("/switch")
async def switch_project(request: Request, session: SessionDep, api: ApiDep) -> Response:
    form = await checked_form(request, session)
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": session.token}},
            "scope": {"project": {"id": form.get("project_id", "")}},
        }
    }
    answer = await anonymous_call(
        front_of(request),
        "POST",
        "/v3/auth/tokens",
        json=body,
        headers={"X-Auth-Token": session.token},
    )
    if answer.status_code != 201:
        # The refusal is about the other project, not this session (page() asks the API
        # for the switcher's projects: it ends the session only if its token is refused).
        error = error_of(answer)
        return await page(
            request,
            session,
            api,
            "message.html",
            title="Switch project",
            error=error,
            status_code=error.status if error.status >= 400 else 502,
        )
    switched = session_from(answer.headers["X-Subject-Token"], answer.json())
    # The old token is of no use any more: revoked once the new one exists, so a copy of
    # the old cookie opens nothing.
    await revoke(request, session.token)
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    set_session_cookie(request, response, switched)
    return response
