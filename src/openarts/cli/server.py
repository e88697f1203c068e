"""`openarts server`: run the API with uvicorn in the foreground."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import uvicorn
from rich.console import Console

from openarts.backends.sandbox import SandboxUnavailable
from openarts.domain.sandbox_view import SandboxReport
from openarts.server.app import create_server_app
from openarts.server.http_protocol import HttpProtocol
from openarts.server.platform import prepare
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
    if settings.workers > 1:
        _run_workers(settings)
        return
    try:
        app = create_server_app(settings, announce=announce)
    except SandboxUnavailable as error:
        # Said plainly, without a traceback: it is a set-up step, not a bug.
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[bold red]OpenArts cannot start: the sandbox for users' code is not "
            f"available: {error}[/bold red]"
        )
        raise SystemExit(3) from None
    uvicorn.Server(_config(app, settings)).run(sockets=_sockets(settings))


def _config(app: Any, settings: Settings, **more: Any) -> uvicorn.Config:
    # Graceful stop on SIGTERM/SIGINT: finish requests in flight, then run shutdown.
    # It listens on loopback by default and trusts no proxy in front: no X-Forwarded-*
    # rewriting (one layer less on every call).
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        loop="uvloop",
        # httptools, with files sent by the kernel (object downloads).
        http=HttpProtocol,
        timeout_graceful_shutdown=10,
        access_log=False,
        proxy_headers=False,
        **more,
    )


def _sockets(settings: Settings) -> list[socket.socket]:
    # One server, three sockets: the API's port, object storage's and the console's.
    return [
        _listen(settings.host, port)
        for port in (settings.port, settings.obs_port, settings.console_port)
    ]


def _run_workers(settings: Settings) -> None:
    """Several processes on the same sockets: this one migrates the database, makes the
    first identity and says so, then starts the workers (uvicorn restarts one that dies);
    each serves everything, and one at a time leads the loops (reconcile/leadership.py),
    woken by what any of them commits (db/notes_feed.py)."""
    if settings.resolved_database_url.startswith("sqlite"):
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            "[bold red]OpenArts cannot start several workers on SQLite, which takes one "
            "writer at a time: set OPENARTS_DATABASE_URL to a PostgreSQL database, or run "
            "one worker.[/bold red]"
        )
        raise SystemExit(2)
    report, sandbox = asyncio.run(prepare(settings))
    announce(report, settings, sandbox)
    # The workers read their settings from the environment, as this process did; what
    # came from the command line goes there too (none of it is a secret).
    for name in ("host", "port", "obs_port", "console_port", "backend", "ray_address", "home"):
        value = getattr(settings, name)
        if value is not None:
            os.environ[f"OPENARTS_{name.upper()}"] = str(value)
    os.environ["OPENARTS_WORKERS"] = "1"  # a worker is one process
    config = _config(
        "openarts.server.worker:worker_app", settings, factory=True, workers=settings.workers
    )
    # Here, not at the top: uvicorn's supervisors bring its file watcher, which a single
    # process never needs.
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=_sockets(settings)).run()
