"""First-start identity: an admin, a default project, one AK/SK, and their authorization.

Run on every start. With an empty database it creates everything; with the
``OPENARTS_ADMIN_AK``/``_SK``, ``OPENARTS_PROJECT_ID`` and ``OPENARTS_ADMIN_PASSWORD``
settings it makes the database agree with them, idempotently.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.db.tables import Authorization, Credential, Domain, Project, User
from openarts.domain.authorizations import AuthorizationType
from openarts.security.passwords import check_password, hash_password
from openarts.security.secrets_box import SecretBox
from openarts.services import authorizations, identity
from openarts.settings import Settings

DEFAULT_DOMAIN = "openarts"
ADMIN_USER = "admin"
DEFAULT_PROJECT = "default"


@dataclass(frozen=True, slots=True)
class BootstrapReport:
    domain_name: str
    user_name: str
    project_id: str
    project_name: str
    access_key: str
    secret_key: str
    credential_created: bool
    generated_password: str | None


async def ensure_initial_identity(
    session: AsyncSession, settings: Settings, box: SecretBox
) -> BootstrapReport:
    domain = (await session.scalars(select(Domain).order_by(Domain.created_at))).first()
    if domain is None:
        domain = await identity.create_domain(session, DEFAULT_DOMAIN)

    admin, generated_password = await _ensure_admin(session, settings, domain.id)
    project = await _ensure_project(session, settings, domain.id)
    await identity.add_member(session, project_id=project.id, user_id=admin.id)
    access_key, secret_key, created = await _ensure_credential(session, settings, box, admin.id)

    agency = await authorizations.create_agency(session, project_id=project.id, suffix=None)
    existing = await session.scalar(
        select(Authorization.id).where(
            Authorization.project_id == project.id, Authorization.user_id == admin.id
        )
    )
    if existing is None:
        await authorizations.configure_authorization(
            session,
            box,
            project_id=project.id,
            request=authorizations.NewAuthorization(
                content=agency, type=AuthorizationType.AGENCY, user_id=admin.id
            ),
        )
    return BootstrapReport(
        domain_name=domain.name,
        user_name=admin.name,
        project_id=project.id,
        project_name=project.name,
        access_key=access_key,
        secret_key=secret_key,
        credential_created=created,
        generated_password=generated_password,
    )


async def _ensure_admin(
    session: AsyncSession, settings: Settings, domain_id: str
) -> tuple[User, str | None]:
    wanted = settings.admin_password.get_secret_value() if settings.admin_password else None
    admin = await identity.user_by_name(session, ADMIN_USER, domain_id=domain_id)
    if admin is None:
        generated = None if wanted else secrets.token_urlsafe(18)
        admin = await identity.create_user(
            session,
            domain_id=domain_id,
            name=ADMIN_USER,
            password=wanted or generated,
            is_admin=True,
        )
        return admin, generated
    if wanted and not (admin.password_hash and check_password(wanted, admin.password_hash)):
        admin.password_hash = hash_password(wanted)
    admin.is_admin = True
    return admin, None


async def _ensure_project(session: AsyncSession, settings: Settings, domain_id: str) -> Project:
    if settings.project_id:
        project = await session.get(Project, settings.project_id)
        if project is not None:
            return project
        taken = await identity.project_by_name(session, DEFAULT_PROJECT) is not None
        name = f"project-{settings.project_id[:8]}" if taken else DEFAULT_PROJECT
        return await identity.create_project(
            session, domain_id=domain_id, name=name, project_id=settings.project_id
        )
    project = await identity.project_by_name(session, DEFAULT_PROJECT)
    if project is None:
        project = await identity.create_project(session, domain_id=domain_id, name=DEFAULT_PROJECT)
    return project


async def _ensure_credential(
    session: AsyncSession, settings: Settings, box: SecretBox, user_id: str
) -> tuple[str, str, bool]:
    wanted_sk = settings.admin_sk.get_secret_value() if settings.admin_sk else None
    if settings.admin_ak:
        credential = await session.get(Credential, settings.admin_ak)
        if credential is None:
            ak, sk = await identity.create_credential(
                session,
                box,
                user_id=user_id,
                access_key=settings.admin_ak,
                secret_key=wanted_sk,
                description="admin key from OPENARTS_ADMIN_AK",
            )
            return ak, sk, True
        if credential.user_id != user_id:
            raise identity.IdentityError(
                f"OPENARTS_ADMIN_AK {settings.admin_ak} belongs to another user than admin"
            )
        credential.active = True
        if wanted_sk and box.decrypt(credential.secret_encrypted) != wanted_sk:
            credential.secret_encrypted = box.encrypt(wanted_sk)
        return credential.access_key, box.decrypt(credential.secret_encrypted), False
    credential = (
        await session.scalars(
            select(Credential)
            .where(Credential.user_id == user_id, Credential.active.is_(True))
            .order_by(Credential.created_at)
        )
    ).first()
    if credential is not None:
        return credential.access_key, box.decrypt(credential.secret_encrypted), False
    ak, sk = await identity.create_credential(
        session, box, user_id=user_id, description="created on first start"
    )
    return ak, sk, True


def write_private_file(path: Path, text: str) -> None:
    """Write a file only its owner can read, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(temporary, path)


def credentials_csv(report: BootstrapReport, endpoint: str, obs_endpoint: str) -> str:
    """The credentials file, in the cloud console's column names plus where to use them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "User Name",
            "Access Key Id",
            "Secret Access Key",
            "Project Id",
            "Project Name",
            "Endpoint",
            "OBS Endpoint",
        ]
    )
    writer.writerow(
        [
            report.user_name,
            report.access_key,
            report.secret_key,
            report.project_id,
            report.project_name,
            endpoint,
            obs_endpoint,
        ]
    )
    return out.getvalue()
