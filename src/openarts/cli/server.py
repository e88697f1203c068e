"""`openarts server`: run the API with uvicorn in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any, NoReturn

import uvicorn
from rich.console import Console

from openarts.backends.images import ImagesReport
from openarts.backends.sandbox import SandboxUnavailable
from openarts.db.engine import Database
from openarts.domain import notebooks as notebook_domain
from openarts.domain import services as service_domain
from openarts.domain import training as training_domain
from openarts.domain.sandbox_view import SandboxReport
from openarts.server.app import create_server_app
from openarts.server.http_protocol import HttpProtocol
from openarts.server.platform import prepare
from openarts.server.registry import start_registry
from openarts.services import workloads as workload_service
from openarts.services.bootstrap import BootstrapReport
from openarts.settings import Settings


def announce(
    report: BootstrapReport,
    settings: Settings,
    sandbox: SandboxReport,
    images: ImagesReport | None = None,
    registry: str | None = None,
) -> None:
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
    if images is not None:
        console.print(f"  images     : {images.summary}")
    if registry is not None:
        console.print(f"  registry   : {registry}")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)
    listener.set_inheritable(True)
    return listener


# Each kind of work that outlives the server: what a user calls it, and how to stop one.
_KEPT = (
    (notebook_domain.WORKLOAD_KIND, "notebook", "openarts notebook stop <id>"),
    (service_domain.WORKLOAD_KIND, "service", "openarts service stop <id>"),
    (training_domain.WORKLOAD_KIND, "training job", "openarts job terminate <id>"),
)


def print_what_keeps_running(settings: Settings) -> None:
    """Work outlives the server on purpose (a restart finds it again); on the way out the
    user is told what still runs and how to stop it."""

    async def counted() -> dict[str, int]:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                return await workload_service.live_counts(session)
        finally:
            await db.close()

    try:
        live = asyncio.run(counted())
    except Exception as error:  # the database may be what stopped the server
        logging.getLogger("openarts").warning("could not tell what keeps running: %s", error)
        return
    kept = [(live[kind], name, how) for kind, name, how in _KEPT if live.get(kind, 0) > 0]
    if not kept:
        return
    said = ", ".join(f"{count} {name}{'' if count == 1 else 's'}" for count, name, _ in kept)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(
        f"[bold]Still running (work outlives the server; the next start finds it): {said}.[/bold]"
    )
    console.print(
        "  Stop everything with `openarts stop --all`, or one at a time: "
        + "; ".join(how for _, _, how in kept)
        + "."
    )


@contextlib.contextmanager
def _saying_what_keeps_running(settings: Settings) -> Iterator[None]:
    """Around serving: once it ends, by Ctrl-C too (uvicorn raises the signal again after
    its graceful stop), the user hears what still runs; Ctrl-C's exit status stays 130."""
    try:
        yield
    except KeyboardInterrupt:
        print_what_keeps_running(settings)
        raise SystemExit(130) from None
    print_what_keeps_running(settings)


def _cannot_start(why: str, code: int) -> NoReturn:
    # Said plainly, without a traceback: it is a set-up step, not a bug.
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]OpenArts cannot start: {why}[/bold red]"
    )
    raise SystemExit(code)


def run_server(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The ports first: a taken one is said before anything else is done.
    sockets = _sockets(settings)
    # A port of 0 was the system's choice: the addresses the server gives out (the
    # banner, the registry's token realm, the workers' settings) name the real one.
    for (name, _, _), listener in zip(_PORTS, sockets, strict=True):
        if not getattr(settings, name):
            setattr(settings, name, int(listener.getsockname()[1]))
    if settings.workers > 1:
        _run_workers(settings, sockets)
        return
    try:
        app = create_server_app(settings, announce=announce)
    except SandboxUnavailable as error:
        _cannot_start(f"the sandbox for users' code is not available: {error}", 3)
    with _saying_what_keeps_running(settings):
        uvicorn.Server(_config(app, settings)).run(sockets=sockets)


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


# Each port's role, and how to move it.
_PORTS = (
    ("port", "the API", "--port or OPENARTS_PORT"),
    ("obs_port", "object storage (S3)", "--obs-port or OPENARTS_OBS_PORT"),
    ("console_port", "the web console", "--console-port or OPENARTS_CONSOLE_PORT"),
)


def _sockets(settings: Settings) -> list[socket.socket]:
    """One server, three sockets: the API's port, object storage's and the console's."""
    sockets: list[socket.socket] = []
    for name, role, flag in _PORTS:
        port: int = getattr(settings, name)
        try:
            sockets.append(_listen(settings.host, port))
        except OSError as error:
            for listener in sockets:
                listener.close()
            taken = error.errno == errno.EADDRINUSE
            why = "is taken by another program" if taken else f"cannot be used ({error.strerror})"
            _cannot_start(
                f"port {port} on {settings.host} ({role}) {why}; choose another with {flag}", 2
            )
    if settings.registry == "embedded" and settings.registry_port:
        # The registry binds it itself, a moment later: checked here so that a taken
        # port is said as plainly as the others.
        try:
            _listen(settings.host, settings.registry_port).close()
        except OSError as error:
            for listener in sockets:
                listener.close()
            why = (
                "is taken by another program"
                if error.errno == errno.EADDRINUSE
                else (f"cannot be used ({error.strerror})")
            )
            _cannot_start(
                f"port {settings.registry_port} on {settings.host} (the image registry) {why}; "
                "choose another with --registry-port or OPENARTS_REGISTRY_PORT, or run none "
                "with OPENARTS_REGISTRY=off",
                2,
            )
    return sockets


def _run_workers(settings: Settings, sockets: list[socket.socket]) -> None:
    """Several processes on the same sockets: this one migrates the database, makes the
    first identity and says so, then starts the workers (uvicorn restarts one that dies);
    each serves everything, and one at a time leads the loops (reconcile/leadership.py),
    woken by what any of them commits (db/notes_feed.py)."""
    if settings.resolved_database_url.startswith("sqlite"):
        _cannot_start(
            "several workers need PostgreSQL (SQLite takes one writer at a time): set "
            "OPENARTS_DATABASE_URL to a PostgreSQL database, or run one worker",
            2,
        )
    report, sandbox = asyncio.run(prepare(settings))
    # This process runs the registry for the workers (each reads its key from the home).
    registry = start_registry(settings)
    announce(report, settings, sandbox, None, registry.how_to_use() if registry else None)
    if registry is not None:
        settings.registry_port = registry.port
    # The workers read their settings from the environment, as this process did; what
    # came from the command line goes there too (none of it is a secret).
    names = ("host", "port", "obs_port", "console_port", "registry_port", "backend")
    for name in (*names, "ray_address", "home"):
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

    try:
        with _saying_what_keeps_running(settings):
            Multiprocess(config, sockets=sockets).run()
    finally:
        if registry is not None:
            registry.stop()
