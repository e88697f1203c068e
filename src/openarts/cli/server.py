"""`openarts server`: run the API with uvicorn in the foreground."""

from __future__ import annotations

import logging
import socket

import uvicorn
from rich.console import Console

from openarts.backends.sandbox import SandboxUnavailable
from openarts.domain.sandbox_view import SandboxReport
from openarts.server.app import create_server_app
from openarts.services.bootstrap import BootstrapReport
from openarts.settings import Settings


def announce(report: BootstrapReport, settings: Settings, sandbox: SandboxReport) -> None:
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]OpenArts is serving on {settings.endpoint}[/bold]")
    console.print(f"  object storage (S3-compatible): {settings.obs_endpoint}")
    console.print(f"  web console: {settings.console_endpoint}/console/")
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
    if sandbox.enabled:
        console.print(f"  sandbox    : {sandbox.summary}")
    else:
        console.print(f"[bold red]  SANDBOX    : {sandbox.summary}[/bold red]")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)
    listener.set_inheritable(True)
    return listener


def run_server(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        app = create_server_app(settings, announce=announce)
    except SandboxUnavailable as error:
        # Said plainly, without a traceback: it is a set-up step, not a bug.
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[bold red]OpenArts cannot start: the sandbox for users' code is not "
            f"available: {error}[/bold red]"
        )
        raise SystemExit(3) from None
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        loop="uvloop",
        http="httptools",
        # Graceful stop on SIGTERM/SIGINT: finish requests in flight, then run shutdown.
        timeout_graceful_shutdown=10,
        access_log=False,
        # It listens on loopback by default and trusts no proxy in front: no X-Forwarded-*
        # rewriting (one layer less on every call).
        proxy_headers=False,
    )
    # One server, three sockets: the API's port, object storage's and the console's.
    sockets = [
        _listen(settings.host, port)
        for port in (settings.port, settings.obs_port, settings.console_port)
    ]
    uvicorn.Server(config).run(sockets=sockets)
