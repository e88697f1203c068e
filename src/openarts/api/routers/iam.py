"""IAM-compatible identity routes: tokens issued by password or rescoped from a token
(always project-scoped), revoked, and the projects a token's user may use."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from openarts import errors
from openarts.api.deps import AuthDep, SessionDep, SettingsDep, client_of, parts_of
from openarts.errors import OpenArtsError
from openarts.schemas.common import ERROR_RESPONSES, ErrorBody
from openarts.schemas.iam import (
    IamProject,
    NamedRef,
    ProjectList,
    ScopedRef,
    TokenBody,
    TokenRequest,
    TokenResponse,
    TokenUser,
)
from openarts.services import identity as identity_service
from openarts.services import tokens

router = APIRouter(tags=["IAM"])


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@router.post(
    "/v3/auth/tokens",
    status_code=201,
    response_model=TokenResponse,
    responses={
        **ERROR_RESPONSES,
        429: {"model": ErrorBody, "description": "Too many wrong passwords for this name"},
    },
    summary="Obtain a project-scoped token with a user name and password",
)
async def create_token(
    body: TokenRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> TokenResponse:
    identity = body.auth.identity
    project = body.auth.scope.project if body.auth.scope else None
    ttl_s = settings.token_ttl_s
    method = "password"
    if "password" in identity.methods and identity.password is not None:
        user = identity.password.user
        logins = parts_of(request).logins
        name, client = user.name or user.id or "", client_of(request)
        wait = logins.retry_after(name, client)
        if wait > 0:
            raise OpenArtsError(
                errors.TOO_MANY_LOGINS,
                f"Excessive number of requests to log in as {name}: too many wrong "
                f"passwords, try again in {math.ceil(wait)} s.",
                retry_after_s=math.ceil(wait),
            )
        try:
            result = await tokens.login_with_password(
                session,
                tokens.PasswordLogin(
                    user_name=user.name,
                    user_id=user.id,
                    password=user.password,
                    domain_name=user.domain.name if user.domain else None,
                    domain_id=user.domain.id if user.domain else None,
                    project_id=project.id if project else None,
                    project_name=project.name if project else None,
                ),
                ttl_s=ttl_s,
            )
        except OpenArtsError as error:
            if error.error_code == errors.IAM_ERROR:
                logins.failed(name, client)
            raise
        logins.succeeded(name, client)
    elif "token" in identity.methods:
        method = "token"
        given = (identity.token.id if identity.token else None) or request.headers.get(
            "x-auth-token"
        )
        if not given:
            raise OpenArtsError(
                errors.INVALID_ARGUMENT,
                "Invalid parameter: the token method needs auth.identity.token.id or an "
                "X-Auth-Token header.",
            )
        result = await tokens.rescope_token(
            session,
            given,
            project_id=project.id if project else None,
            project_name=project.name if project else None,
        )
    else:
        raise OpenArtsError(
            errors.INVALID_ARGUMENT,
            "Invalid parameter: auth.identity.methods must include 'password' with "
            "auth.identity.password, or 'token'.",
        )
    response.headers["X-Subject-Token"] = result.issued.token
    domain = NamedRef(id=result.domain.id, name=result.domain.name)
    role = "admin" if result.user.is_admin else "member"
    return TokenResponse(
        token=TokenBody(
            methods=[method],
            expires_at=_iso(result.issued.expires_at),
            issued_at=_iso(result.issued.issued_at),
            user=TokenUser(id=result.user.id, name=result.user.name, domain=domain),
            project=ScopedRef(id=result.project.id, name=result.project.name, domain=domain),
            roles=[NamedRef(id=role, name=role)],
        )
    )


@router.delete(
    "/v3/auth/tokens",
    status_code=204,
    responses=ERROR_RESPONSES,
    summary="Revoke a token (sign out)",
)
async def revoke_token(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    subject = request.headers.get("x-subject-token")
    if not subject:
        raise OpenArtsError(
            errors.INVALID_ARGUMENT, "Invalid parameter: X-Subject-Token names the token to revoke."
        )
    principal = await auth.authenticate(request)
    found = await tokens.lookup_token(session, subject)
    # Only one's own tokens: someone else's is answered as if it did not exist.
    if found is None or found.user.id != principal.user_id:
        raise OpenArtsError(errors.TOKEN_INVALID, "Invalid token: X-Subject-Token.")
    await tokens.revoke_token(session, subject)
    auth.forget_token(subject)
    return Response(status_code=204)


@router.get(
    "/v3/auth/projects",
    response_model=ProjectList,
    responses=ERROR_RESPONSES,
    summary="The projects the caller's user may use",
)
async def list_own_projects(request: Request, session: SessionDep, auth: AuthDep) -> ProjectList:
    principal = await auth.authenticate(request)
    projects = await identity_service.projects_of(session, principal.user_id)
    return ProjectList(
        projects=[
            IamProject(
                id=project.id,
                name=project.name,
                domain_id=project.domain_id,
                description=project.description,
                parent_id=project.domain_id,
            )
            for project in projects
        ]
    )
