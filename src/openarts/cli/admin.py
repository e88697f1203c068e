"""Administrator commands that work directly on the server's database in its home.

The database layer is imported inside the commands, not here: every `openarts` command
loads this module, and SQLAlchemy with Alembic would add half a second to each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from openarts.cli.common import printer, secret_from
from openarts.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from openarts.db.tables import Credential, Project, User
    from openarts.security.secrets_box import SecretBox

T = TypeVar("T")
console = Console(highlight=False)

users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
projects_app = typer.Typer(help="Manage projects and their members.", no_args_is_help=True)
credentials_app = typer.Typer(help="Manage AK/SK credentials.", no_args_is_help=True)


def _run(settings: Settings, work: Callable[[AsyncSession, SecretBox], Awaitable[T]]) -> T:
    from openarts.db.engine import Database
    from openarts.security.secrets_box import SecretBox
    from openarts.services import identity

    async def main() -> T:
        box = SecretBox.from_key_file(settings.secret_key_file)
        db = Database(settings.resolved_database_url)
        try:
            await db.migrate()
            async with db.session() as session, session.begin():
                return await work(session, box)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except identity.IdentityError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


async def _domain_id(session: AsyncSession) -> str:
    from sqlalchemy import select

    from openarts.db.tables import Domain
    from openarts.services import identity
    from openarts.services.bootstrap import DEFAULT_DOMAIN

    domain = (await session.scalars(select(Domain).order_by(Domain.created_at))).first()
    if domain is None:
        domain = await identity.create_domain(session, DEFAULT_DOMAIN)
    return domain.id


async def _user(session: AsyncSession, name: str) -> User:
    from openarts.services import identity

    user = await identity.user_by_name(session, name)
    if user is None:
        raise identity.IdentityError(f"no user named {name!r}")
    return user


async def _project(session: AsyncSession, name_or_id: str) -> Project:
    from openarts.db.tables import Project
    from openarts.services import identity

    project = await session.get(Project, name_or_id) or await identity.project_by_name(
        session, name_or_id
    )
    if project is None:
        raise identity.IdentityError(f"no project named or with ID {name_or_id!r}")
    return project


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@users_app.command("create")
def create_user(
    ctx: typer.Context,
    name: str,
    with_password: Annotated[
        bool,
        typer.Option(
            help="Give the user a password for token log-in, asked for on the terminal or "
            "read from OPENARTS_PASSWORD (never taken from the command line). Without it: "
            "AK/SK only."
        ),
    ] = False,
    admin: Annotated[bool, typer.Option(help="Make the user an administrator.")] = False,
    project: Annotated[
        list[str] | None, typer.Option(help="Project (name or ID) to add the user to.")
    ] = None,
) -> None:
    """Create a user, optionally a member of some projects."""
    from openarts.services import identity

    password = secret_from("OPENARTS_PASSWORD", f"password for {name}") if with_password else None

    async def work(session: AsyncSession, box: SecretBox) -> str:
        user = await identity.create_user(
            session,
            domain_id=await _domain_id(session),
            name=name,
            password=password,
            is_admin=admin,
        )
        for item in project or []:
            await identity.add_member(
                session, project_id=(await _project(session, item)).id, user_id=user.id
            )
        return user.id

    user_id = _run(_settings(ctx), work)
    printer(ctx).done(f"user {name} created: {user_id}", {"name": name, "id": user_id})


@projects_app.command("create")
def create_project(
    ctx: typer.Context,
    name: str,
    project_id: Annotated[
        str | None, typer.Option("--id", help="A fixed 32-hex-character project ID.")
    ] = None,
    member: Annotated[list[str] | None, typer.Option(help="User to add as a member.")] = None,
) -> None:
    """Create a project; the admin user is always a member."""
    from openarts.services import identity

    async def work(session: AsyncSession, box: SecretBox) -> str:
        created = await identity.create_project(
            session, domain_id=await _domain_id(session), name=name, project_id=project_id
        )
        for user_name in ["admin", *(member or [])]:
            user = await identity.user_by_name(session, user_name)
            if user is not None:
                await identity.add_member(session, project_id=created.id, user_id=user.id)
            elif user_name != "admin":
                raise identity.IdentityError(f"no user named {user_name!r}")
        return created.id

    made = _run(_settings(ctx), work)
    printer(ctx).done(f"project {name} created: {made}", {"name": name, "id": made})


@projects_app.command("add-member")
def add_member(ctx: typer.Context, project: str, user: str) -> None:
    """Let a user work in a project."""
    from openarts.services import identity

    async def work(session: AsyncSession, box: SecretBox) -> None:
        found = await _project(session, project)
        await identity.add_member(
            session, project_id=found.id, user_id=(await _user(session, user)).id
        )

    _run(_settings(ctx), work)
    printer(ctx).done(f"{user} is a member of {project}", {"user": user, "project": project})


@projects_app.command("list")
def list_projects(ctx: typer.Context) -> None:
    """List projects with their IDs."""
    from sqlalchemy import select

    from openarts.db.tables import Project

    async def work(session: AsyncSession, box: SecretBox) -> list[Project]:
        return list(await session.scalars(select(Project).order_by(Project.name)))

    projects = _run(_settings(ctx), work)
    if printer(ctx).json:
        printer(ctx).dump([{"id": project.id, "name": project.name} for project in projects])
        return
    for project in projects:
        console.print(f"{project.id}  {project.name}")


@credentials_app.command("create")
def create_credential(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="The user the key belongs to.")],
    description: str = "",
) -> None:
    """Create an AK/SK for a user. The secret key is shown once."""
    from openarts.services import identity

    async def work(session: AsyncSession, box: SecretBox) -> tuple[str, str]:
        owner = await _user(session, user)
        return await identity.create_credential(
            session, box, user_id=owner.id, description=description
        )

    ak, sk = _run(_settings(ctx), work)
    printer(ctx).done(
        f"access key: {ak}\nsecret key: {sk}", {"user": user, "access_key": ak, "secret_key": sk}
    )


@credentials_app.command("list")
def list_credentials(ctx: typer.Context, user: str) -> None:
    """List a user's access keys (never their secrets)."""
    from sqlalchemy import select

    from openarts.db.tables import Credential

    async def work(session: AsyncSession, box: SecretBox) -> list[Credential]:
        owner = await _user(session, user)
        query = select(Credential).where(Credential.user_id == owner.id)
        return list(await session.scalars(query.order_by(Credential.created_at)))

    credentials = _run(_settings(ctx), work)
    if printer(ctx).json:
        printer(ctx).dump(
            [
                {"access_key": c.access_key, "active": c.active, "description": c.description}
                for c in credentials
            ]
        )
        return
    for credential in credentials:
        state = "active" if credential.active else "inactive"
        console.print(f"{credential.access_key}  {state}  {credential.description}")


@credentials_app.command("delete")
def delete_credential(ctx: typer.Context, access_key: str) -> None:
    """Delete an access key; a running server stops accepting it within its cache TTL."""
    from openarts.db.tables import Credential
    from openarts.services import identity

    async def work(session: AsyncSession, box: SecretBox) -> None:
        credential = await session.get(Credential, access_key)
        if credential is None:
            raise identity.IdentityError(f"no access key {access_key}")
        await session.delete(credential)

    _run(_settings(ctx), work)
    printer(ctx).done(f"access key {access_key} deleted", {"access_key": access_key})
