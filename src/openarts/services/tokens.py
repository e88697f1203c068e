"""IAM-compatible tokens: opaque random strings, stored only as SHA-256 digests."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.db.tables import Domain, Project, Token, User
from openarts.errors import OpenArtsError
from openarts.ids import now_ms
from openarts.security.passwords import check_password
from openarts.services.identity import is_member

TOKEN_PREFIX = "OA1"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class TokenLookup:
    user: User
    project_id: str
    expires_at: int


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue_token(
    session: AsyncSession, *, user_id: str, project_id: str, ttl_s: int
) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(48)
    issued = now_ms()
    expires = issued + ttl_s * 1000
    # Expired tokens are useless; dropping them here keeps the table small without a timer.
    await session.execute(delete(Token).where(Token.expires_at < issued))
    session.add(
        Token(
            token_hash=token_digest(token),
            user_id=user_id,
            project_id=project_id,
            issued_at=issued,
            expires_at=expires,
        )
    )
    await session.flush()
    return IssuedToken(token, issued, expires)


async def lookup_token(session: AsyncSession, token: str) -> TokenLookup | None:
    query = (
        select(Token, User)
        .join(User, User.id == Token.user_id)
        .where(Token.token_hash == token_digest(token))
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    stored, user = row
    return TokenLookup(user, stored.project_id, stored.expires_at)


@dataclass(frozen=True, slots=True)
class PasswordLogin:
    user_name: str | None
    user_id: str | None
    password: str
    domain_name: str | None
    domain_id: str | None
    project_id: str | None
    project_name: str | None


@dataclass(frozen=True, slots=True)
class LoginResult:
    issued: IssuedToken
    user: User
    domain: Domain
    project: Project


_LOGIN_FAILED = "The username or password is wrong, or the user cannot use that project."


async def login_with_password(
    session: AsyncSession, login: PasswordLogin, *, ttl_s: int
) -> LoginResult:
    """Check a password login scoped to a project and issue a token for it."""
    if not (login.project_id or login.project_name):
        raise OpenArtsError(
            errors.INVALID_ARGUMENT,
            "Invalid parameter: auth.scope.project (id or name) is required; OpenArts issues "
            "project-scoped tokens only.",
        )
    query = select(User, Domain).join(Domain, Domain.id == User.domain_id)
    if login.user_id:
        query = query.where(User.id == login.user_id)
    elif login.user_name:
        query = query.where(User.name == login.user_name)
    else:
        raise OpenArtsError(
            errors.INVALID_ARGUMENT,
            "Invalid parameter: auth.identity.password.user needs a name or an id.",
        )
    if login.domain_id:
        query = query.where(Domain.id == login.domain_id)
    if login.domain_name:
        query = query.where(Domain.name == login.domain_name)
    row = (await session.execute(query)).first()
    if row is None:
        raise OpenArtsError(errors.IAM_ERROR, _LOGIN_FAILED)
    user, domain = row
    # scrypt takes tens of milliseconds of CPU: keep it off the event loop.
    stored = user.password_hash
    if stored is None or not await asyncio.to_thread(check_password, login.password, stored):
        raise OpenArtsError(errors.IAM_ERROR, _LOGIN_FAILED)
    project_query = select(Project).where(Project.domain_id == domain.id)
    if login.project_id:
        project_query = project_query.where(Project.id == login.project_id)
    if login.project_name:
        project_query = project_query.where(Project.name == login.project_name)
    project = (await session.scalars(project_query)).first()
    if project is None or not await is_member(session, user_id=user.id, project_id=project.id):
        raise OpenArtsError(errors.IAM_ERROR, _LOGIN_FAILED)
    issued = await issue_token(session, user_id=user.id, project_id=project.id, ttl_s=ttl_s)
    return LoginResult(issued, user, domain, project)


async def rescope_token(
    session: AsyncSession,
    token: str,
    *,
    project_id: str | None,
    project_name: str | None,
) -> LoginResult:
    """A token for another of the same user's projects, from a valid token (IAM's
    ``token`` method). It ends when the token it came from ends: rescoping never extends
    a session."""
    if not (project_id or project_name):
        raise OpenArtsError(
            errors.INVALID_ARGUMENT,
            "Invalid parameter: auth.scope.project (id or name) is required; OpenArts issues "
            "project-scoped tokens only.",
        )
    found = await lookup_token(session, token)
    if found is None:
        raise OpenArtsError(errors.TOKEN_INVALID, "Invalid token.")
    issued_at = now_ms()
    if found.expires_at <= issued_at:
        raise OpenArtsError(
            errors.TOKEN_EXPIRED, "Invalid token header because the token has expired."
        )
    project_query = select(Project).where(Project.domain_id == found.user.domain_id)
    if project_id:
        project_query = project_query.where(Project.id == project_id)
    if project_name:
        project_query = project_query.where(Project.name == project_name)
    project = (await session.scalars(project_query)).first()
    if project is None or not await is_member(
        session, user_id=found.user.id, project_id=project.id
    ):
        raise OpenArtsError(errors.IAM_ERROR, "The user cannot use that project.")
    domain = await session.get(Domain, found.user.domain_id)
    assert domain is not None  # users.domain_id is a foreign key
    ttl_s = max(1, (found.expires_at - issued_at) // 1000)
    issued = await issue_token(session, user_id=found.user.id, project_id=project.id, ttl_s=ttl_s)
    return LoginResult(issued, found.user, domain, project)


async def revoke_token(session: AsyncSession, token: str) -> bool:
    """Delete a token (sign-out); whether it existed."""
    result = await session.execute(delete(Token).where(Token.token_hash == token_digest(token)))
    return bool(getattr(result, "rowcount", 0))
