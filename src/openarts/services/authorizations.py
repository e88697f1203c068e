"""Authorizations: whether the platform may act for a user (reach storage, run work)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.db.tables import Agency, Authorization, Credential, User
from openarts.domain.authorizations import (
    ALL_USERS,
    AuthorizationSortKey,
    AuthorizationType,
    SortOrder,
    agency_name,
)
from openarts.errors import OpenArtsError
from openarts.ids import now_ms
from openarts.security.secrets_box import SecretBox
from openarts.services import identity
from openarts.services.paging import Page, page_of


@dataclass(frozen=True, slots=True)
class NewAuthorization:
    content: str
    type: AuthorizationType = AuthorizationType.AGENCY
    user_id: str | None = None
    secret_key: str | None = None


async def list_authorizations(
    session: AsyncSession,
    *,
    project_id: str,
    sort_by: AuthorizationSortKey,
    order: SortOrder,
    limit: int,
    offset: int,
) -> Page[Authorization]:
    where = Authorization.project_id == project_id
    column = (
        Authorization.user_name
        if sort_by is AuthorizationSortKey.USER_NAME
        else (Authorization.created_at)
    )
    ordering = column.asc() if order is SortOrder.ASC else column.desc()
    return await page_of(
        session,
        select(Authorization).where(where),
        order_by=(ordering, Authorization.id),
        offset=offset,
        limit=limit,
    )


async def configure_authorization(
    session: AsyncSession,
    box: SecretBox,
    *,
    project_id: str,
    request: NewAuthorization,
) -> Authorization:
    if request.type is AuthorizationType.AGENCY:
        user_id, user_name = await _agency_target(session, project_id, request)
        secret = None
    else:
        user_id, user_name = await _credential_target(session, box, project_id, request)
        secret = box.encrypt(request.secret_key or "")

    existing = (
        await session.scalars(
            select(Authorization).where(
                Authorization.project_id == project_id, Authorization.user_id == user_id
            )
        )
    ).first()
    if existing is not None and user_id != ALL_USERS:
        raise OpenArtsError(
            errors.AUTHORIZATION_EXISTS,
            f"User authorization information already exists for user {user_name}. To change "
            "it, delete the authorization and add it again.",
        )
    if existing is None:
        existing = Authorization(project_id=project_id, user_id=user_id, created_at=now_ms())
        session.add(existing)
    # Authorizing 'all' again replaces the project-wide setting, as the reference describes.
    existing.user_name = user_name
    existing.type = request.type.value
    existing.content = request.content
    existing.secret_encrypted = secret
    await session.flush()
    return existing


async def _agency_target(
    session: AsyncSession, project_id: str, request: NewAuthorization
) -> tuple[str, str]:
    if not request.user_id:
        raise OpenArtsError(
            errors.INVALID_ARGUMENT, "Invalid parameter: user_id is mandatory for type agency."
        )
    if await session.get(Agency, (project_id, request.content)) is None:
        raise OpenArtsError(
            errors.QUERY_AGENCY_FAILED,
            f"Failed to query agency: agency {request.content!r} does not exist in this "
            "project; create it with POST /v2/{project_id}/agency.",
        )
    return await _resolve_user(session, project_id, request.user_id)


async def _credential_target(
    session: AsyncSession, box: SecretBox, project_id: str, request: NewAuthorization
) -> tuple[str, str]:
    if not request.secret_key:
        raise OpenArtsError(
            errors.INVALID_ARGUMENT,
            "Invalid parameter: secret_key is mandatory for type credential.",
        )
    credential = await session.get(Credential, request.content)
    if (
        credential is None
        or not credential.active
        or not hmac.compare_digest(box.decrypt(credential.secret_encrypted), request.secret_key)
    ):
        raise OpenArtsError(
            errors.AUTHORIZATION_ADD_FAILED,
            "Failed to add user authorization information: content and secret_key are not an "
            "active access key and its secret key.",
        )
    owner_id = request.user_id or credential.user_id
    if owner_id not in (ALL_USERS, credential.user_id):
        raise OpenArtsError(
            errors.AUTHORIZATION_ADD_FAILED,
            "Failed to add user authorization information: the access key belongs to another "
            "user than user_id.",
        )
    return await _resolve_user(session, project_id, owner_id)


async def _resolve_user(session: AsyncSession, project_id: str, user_id: str) -> tuple[str, str]:
    if user_id == ALL_USERS:
        return ALL_USERS, "all-users"
    user = await session.get(User, user_id)
    if user is None or not await identity.is_member(
        session, user_id=user_id, project_id=project_id
    ):
        raise OpenArtsError(
            "ModelArts.0422",
            f"Failed to query users: user {user_id} is not a member of this project.",
        )
    return user.id, user.name


async def delete_authorizations(session: AsyncSession, *, project_id: str, user_id: str) -> int:
    query = delete(Authorization).where(Authorization.project_id == project_id)
    if user_id != ALL_USERS:
        query = query.where(Authorization.user_id == user_id)
    result = await session.execute(query)
    deleted = int(getattr(result, "rowcount", 0) or 0)
    if deleted == 0 and user_id != ALL_USERS:
        raise OpenArtsError(
            errors.AUTHORIZATION_MISSING,
            f"The authorization does not exist. Check whether the user_id {user_id} is correct.",
        )
    return deleted


async def create_agency(session: AsyncSession, *, project_id: str, suffix: str | None) -> str:
    """Create the agency (idempotently) and return its name."""
    name = agency_name(suffix)
    if await session.get(Agency, (project_id, name)) is None:
        session.add(Agency(project_id=project_id, name=name, created_at=now_ms()))
        await session.flush()
    return name


async def require_authorization(session: AsyncSession, *, project_id: str, user_id: str) -> None:
    """Raise the reference's AuthorizationNotFound unless the user (or everyone) is authorized."""
    found = await session.scalar(
        select(Authorization.id)
        .where(
            Authorization.project_id == project_id,
            or_(Authorization.user_id == user_id, Authorization.user_id == ALL_USERS),
        )
        .limit(1)
    )
    if found is None:
        raise OpenArtsError(
            errors.AUTHORIZATION_NOT_FOUND,
            "You cannot use ModelArts because you have not authorized ModelArts: ask an "
            "administrator to configure an authorization (POST /v2/{project_id}/authorizations).",
        )
