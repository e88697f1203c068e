"""Domains, users, projects, memberships and AK/SK credentials."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts.db.tables import Credential, Domain, Project, ProjectMember, User
from openarts.domain.identity import PROJECT_ID_PATTERN, check_name
from openarts.domain.sandbox_view import sandbox_uid
from openarts.ids import new_access_key, new_hex32, new_secret_key, now_ms
from openarts.security.passwords import hash_password
from openarts.security.secrets_box import SecretBox


class IdentityError(ValueError):
    """A bad administrative request (duplicate name, unknown user, …)."""


@dataclass(frozen=True, slots=True)
class CredentialLookup:
    access_key: str
    secret_encrypted: str
    user: User


async def create_domain(session: AsyncSession, name: str) -> Domain:
    domain = Domain(id=new_hex32(), name=check_name("domain", name), created_at=now_ms())
    session.add(domain)
    await session.flush()
    return domain


async def create_user(
    session: AsyncSession,
    *,
    domain_id: str,
    name: str,
    password: str | None,
    is_admin: bool = False,
) -> User:
    check_name("user", name)
    if await user_by_name(session, name, domain_id=domain_id) is not None:
        raise IdentityError(f"user {name!r} already exists")
    user = User(
        id=new_hex32(),
        domain_id=domain_id,
        name=name,
        password_hash=hash_password(password) if password else None,
        is_admin=is_admin,
        created_at=now_ms(),
    )
    session.add(user)
    await session.flush()
    return user


async def create_project(
    session: AsyncSession,
    *,
    domain_id: str,
    name: str,
    project_id: str | None = None,
    description: str = "",
) -> Project:
    check_name("project", name)
    if project_id is not None and not PROJECT_ID_PATTERN.fullmatch(project_id):
        raise IdentityError(f"project ID {project_id!r} must be 32 lower-case hex characters")
    if await project_by_name(session, name) is not None:
        raise IdentityError(f"project {name!r} already exists")
    if project_id is not None and await session.get(Project, project_id) is not None:
        raise IdentityError(f"project ID {project_id} is already in use")
    highest = await session.scalar(select(func.max(Project.sandbox_uid)))
    project = Project(
        id=project_id or new_hex32(),
        domain_id=domain_id,
        name=name,
        description=description,
        created_at=now_ms(),
        # The next free one; a concurrent creation that took it fails on the unique
        # constraint rather than sharing it.
        sandbox_uid=sandbox_uid(0) if highest is None else highest + 1,
    )
    session.add(project)
    await session.flush()
    return project


async def add_member(session: AsyncSession, *, project_id: str, user_id: str) -> None:
    if await session.get(ProjectMember, (project_id, user_id)) is None:
        session.add(ProjectMember(project_id=project_id, user_id=user_id, created_at=now_ms()))
        await session.flush()


async def create_credential(
    session: AsyncSession,
    box: SecretBox,
    *,
    user_id: str,
    access_key: str | None = None,
    secret_key: str | None = None,
    description: str = "",
) -> tuple[str, str]:
    """Create an AK/SK for a user and return it; the SK is only ever shown here."""
    ak = access_key or new_access_key()
    sk = secret_key or new_secret_key()
    if await session.get(Credential, ak) is not None:
        raise IdentityError(f"access key {ak} already exists")
    session.add(
        Credential(
            access_key=ak,
            user_id=user_id,
            secret_encrypted=box.encrypt(sk),
            description=description,
            active=True,
            created_at=now_ms(),
        )
    )
    await session.flush()
    return ak, sk


async def user_by_name(
    session: AsyncSession, name: str, *, domain_id: str | None = None
) -> User | None:
    query = select(User).where(User.name == name)
    if domain_id is not None:
        query = query.where(User.domain_id == domain_id)
    return (await session.scalars(query)).first()


async def project_by_name(session: AsyncSession, name: str) -> Project | None:
    return (await session.scalars(select(Project).where(Project.name == name))).first()


async def projects_of(session: AsyncSession, user_id: str) -> list[Project]:
    """The user's projects, the one they joined first (their default) first."""
    query = (
        select(Project)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user_id)
        .order_by(ProjectMember.created_at, Project.name)
    )
    return list(await session.scalars(query))


def sandbox_uid_of(session: Session, project_id: str) -> int | None:
    """The outside uid of the project's sandboxed tasks; None when the project is gone."""
    project = session.get(Project, project_id)
    return None if project is None else project.sandbox_uid


async def is_member(session: AsyncSession, *, user_id: str, project_id: str) -> bool:
    return await session.get(ProjectMember, (project_id, user_id)) is not None


async def lookup_credential(session: AsyncSession, access_key: str) -> CredentialLookup | None:
    query = (
        select(Credential, User)
        .join(User, User.id == Credential.user_id)
        .where(Credential.access_key == access_key, Credential.active.is_(True))
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    credential, user = row
    return CredentialLookup(credential.access_key, credential.secret_encrypted, user)
