"""Factories that add users, projects and keys straight through the services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from openarts.db.engine import Database
from openarts.db.tables import Authorization, Domain
from openarts.ids import now_ms
from openarts.security.secrets_box import SecretBox
from openarts.services import identity
from openarts.testing.clients import AkSk


@dataclass(frozen=True, slots=True)
class NewUser:
    user_id: str
    name: str
    keys: AkSk


async def add_project(db: Database, name: str) -> str:
    async with db.session() as session, session.begin():
        domain = (await session.scalars(select(Domain))).first()
        assert domain is not None, "start the platform first"
        project = await identity.create_project(session, domain_id=domain.id, name=name)
        return project.id


async def add_user(
    db: Database,
    box: SecretBox,
    name: str,
    *,
    projects: list[str],
    password: str | None = None,
    admin: bool = False,
) -> NewUser:
    async with db.session() as session, session.begin():
        domain = (await session.scalars(select(Domain))).first()
        assert domain is not None, "start the platform first"
        user = await identity.create_user(
            session, domain_id=domain.id, name=name, password=password, is_admin=admin
        )
        for project_id in projects:
            await identity.add_member(session, project_id=project_id, user_id=user.id)
        ak, sk = await identity.create_credential(session, box, user_id=user.id)
        return NewUser(user.id, name, AkSk(ak, sk))


async def add_authorized_member(
    db: Database, box: SecretBox, project_id: str, name: str
) -> NewUser:
    """A user with keys, a member of ``project_id`` only, authorized there (what creating
    jobs, notebooks and services asks of a caller)."""
    user = await add_user(db, box, name, projects=[project_id])
    async with db.session() as session, session.begin():
        session.add(
            Authorization(
                project_id=project_id,
                user_id=user.user_id,
                user_name=name,
                type="agency",
                content=f"ma_agency_{name}",
                secret_encrypted=None,
                created_at=now_ms(),
            )
        )
    return user
