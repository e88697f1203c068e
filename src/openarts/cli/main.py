"""The `openarts` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from openarts.cli import admin
from openarts.cli.algorithms import algorithm_app
from openarts.cli.common import FLAGS_KEY, PRINTER_KEY
from openarts.cli.configure import configure
from openarts.cli.events import event_app
from openarts.cli.images import image_app
from openarts.cli.jobs import job_app
from openarts.cli.models import model_app
from openarts.cli.networks import network_app
from openarts.cli.notebooks import notebook_app
from openarts.cli.obs import obs_app
from openarts.cli.output import OutputFormat, Printer
from openarts.cli.pools import pool_app
from openarts.cli.services import service_app
from openarts.cli.stop_all import stop
from openarts.cli.tree import HELP_MARKUP, OpenArtsGroup
from openarts.settings import Settings

app = typer.Typer(
    help="OpenArts: a self-hosted ModelArts-compatible ML platform.",
    no_args_is_help=True,
    cls=OpenArtsGroup,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.projects_app, name="projects")
app.add_typer(admin.credentials_app, name="credentials")
app.add_typer(obs_app, name="obs")
app.add_typer(notebook_app, name="notebook")
app.add_typer(image_app, name="image")
app.add_typer(algorithm_app, name="algorithm")
app.add_typer(job_app, name="job")
app.add_typer(model_app, name="model")
app.add_typer(service_app, name="service")
app.add_typer(pool_app, name="pool")
app.add_typer(network_app, name="network")
app.add_typer(event_app, name="event")
app.command()(configure)
app.command()(stop)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="OPENARTS_HOME", help="Data directory (default ~/.openarts)."),
]


def _settings(**given: Any) -> Settings:
    return Settings(**{key: value for key, value in given.items() if value is not None})


@app.callback()
def main(
    ctx: typer.Context,
    home: HomeOption = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Profile from the config file (OPENARTS_PROFILE)."),
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="Server URL (OPENARTS_ENDPOINT; overrides the profile).")
    ] = None,
    project_id: Annotated[
        str | None, typer.Option(help="Project ID (OPENARTS_PROJECT_ID).")
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--output", "-o", envvar="OPENARTS_OUTPUT", help="table or json."),
    ] = OutputFormat.TABLE,
) -> None:
    ctx.obj = _settings(home=home)
    ctx.meta[FLAGS_KEY] = (
        # Keys and passwords come from the profile or OPENARTS_AK/_SK/_PASSWORD, never from
        # the command line, where `ps` and the shell's history would keep them.
        {"endpoint": endpoint, "project_id": project_id},
        profile,
    )
    ctx.meta[PRINTER_KEY] = Printer(output)


@app.command()
def server(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(envvar="OPENARTS_HOST", help="Address to bind (127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            envvar="OPENARTS_PORT",
            help="The API's port (8080); object storage, the console and the image "
            "registry follow it (+1, +2, +3).",
        ),
    ] = None,
    obs_port: Annotated[
        int | None,
        typer.Option(
            envvar="OPENARTS_OBS_PORT", help="Object storage's S3 port (8081, or --port + 1)."
        ),
    ] = None,
    console_port: Annotated[
        int | None,
        typer.Option(
            envvar="OPENARTS_CONSOLE_PORT", help="The web console's port (8082, or --port + 2)."
        ),
    ] = None,
    registry_port: Annotated[
        int | None,
        typer.Option(
            envvar="OPENARTS_REGISTRY_PORT",
            help="The embedded image registry's port (8083, or --port + 3).",
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            envvar="OPENARTS_BACKEND", help="What runs the tasks: local (default) or ray."
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            envvar="OPENARTS_RAY_ADDRESS", help="The Ray cluster's GCS address (host:port)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            envvar="OPENARTS_WORKERS",
            help="Server processes sharing the ports (1; more need PostgreSQL).",
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Start the OpenArts server in the foreground: the API, object storage (S3), the
    web console and the image registry, each on a port of its own."""
    # Imported here: the client commands should not pay for loading the whole server.
    from openarts.cli.server import run_server

    base: Settings = ctx.obj
    run_server(
        _settings(
            host=host,
            port=port,
            obs_port=obs_port,
            console_port=console_port,
            registry_port=registry_port,
            backend=backend,
            ray_address=ray_address,
            workers=workers,
            home=home or base.home,
        )
    )
