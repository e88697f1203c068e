"""IAM-compatible token issue: POST /v3/auth/tokens (password method, project scope)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response

from openarts import errors
from openarts.api.deps import PlatformDep, SessionDep
from openarts.api.schemas.common import ERROR_RESPONSES
from openarts.api.schemas.iam import (
    NamedRef,
    ScopedRef,
    TokenBody,
    TokenRequest,
    TokenResponse,
    TokenUser,
)
from openarts.errors import OpenArtsError
from openarts.services import tokens

router = APIRouter(tags=["IAM"])


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@router.post(
    "/v3/auth/tokens",
    status_code=201,
    response_model=TokenResponse,
    responses=ERROR_RESPONSES,
    summary="Obtain a project-scoped token with a user name and password",
)
async def create_token(
    body: TokenRequest, response: Response, session: SessionDep, platform: PlatformDep
) -> TokenResponse:
    identity = body.auth.identity
    if "password" not in identity.methods or identity.password is None:
        raise OpenArtsError(
            errors.INVALID_ARGUMENT,
            "Invalid parameter: auth.identity.methods must include 'password' with "
            "auth.identity.password.",
        )
    user = identity.password.user
    project = body.auth.scope.project if body.auth.scope else None
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
        ttl_s=platform.settings.token_ttl_s,
    )
    response.headers["X-Subject-Token"] = result.issued.token
    domain = NamedRef(id=result.domain.id, name=result.domain.name)
    role = "admin" if result.user.is_admin else "member"
    return TokenResponse(
        token=TokenBody(
            methods=["password"],
            expires_at=_iso(result.issued.expires_at),
            issued_at=_iso(result.issued.issued_at),
            user=TokenUser(id=result.user.id, name=result.user.name, domain=domain),
            project=ScopedRef(id=result.project.id, name=result.project.name, domain=domain),
            roles=[NamedRef(id=role, name=role)],
        )
    )
