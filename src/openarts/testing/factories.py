"""Factories that add users, projects and keys straight through the services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from openarts.db.engine import Database
from openarts.db.tables import Domain
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
