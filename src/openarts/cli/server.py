"""`openarts server`: run the API with uvicorn in the foreground."""

from __future__ import annotations

import logging

import uvicorn
from rich.console import Console

from openarts.api.app import create_app
from openarts.services.bootstrap import BootstrapReport
from openarts.settings import Settings


def announce(report: BootstrapReport, settings: Settings) -> None:
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]OpenArts is serving on {settings.endpoint}[/bold]")
    console.print(f"  project ID : {report.project_id}  ({report.project_name})")
    console.print(f"  access key : {report.access_key}")
    if report.credential_created:
        # Shown once, when the key is made, like the cloud's one-time key download.
        console.print(f"  secret key : {report.secret_key}")
    else:
        console.print(f"  secret key : in {settings.credentials_file}")
    console.print(f"  credentials: {settings.credentials_file}")
    if report.generated_password:
        console.print(f"  admin password: in {settings.admin_password_file}")


def run_server(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = create_app(settings, announce=announce)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        loop="uvloop",
        http="httptools",
        # Graceful stop on SIGTERM/SIGINT: finish requests in flight, then run shutdown.
        timeout_graceful_shutdown=10,
        access_log=False,
    )
