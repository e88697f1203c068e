"""The server: the platform, the faces it shows (the API behind its relays, the embedded
S3-compatible endpoint, the web console) and the one application that routes the
listening sockets' requests between them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from openarts.api.app import create_app
from openarts.api.errors import RequestContextMiddleware, install_error_handlers
from openarts.backends.base import ComputeBackend
from openarts.backends.images import ImagesReport
from openarts.console import create_console
from openarts.domain.sandbox_view import SandboxReport
from openarts.obs_endpoint.app import S3Endpoint
from openarts.server.platform import Platform, build_platform
from openarts.server.ports import PortRouter, Relays
from openarts.services import bootstrap
from openarts.services.notebooks import jupyter_address
from openarts.settings import Settings

# The banner: the identity made, the settings, isolation, images, and the registry's line.
Announce = Callable[[bootstrap.BootstrapReport, Settings, SandboxReport, ImagesReport, str], None]


@dataclass
class Server:
    platform: Platform
    api: FastAPI
    # The API behind the notebook proxy and the inference gateway.
    front: Relays
    console: FastAPI
    obs: S3Endpoint
    # What the sockets serve: each request to the face of its port.
    app: PortRouter


def build_server(
    settings: Settings,
    announce: Announce | None = None,
    *,
    backend: ComputeBackend | None = None,
    run_loops: bool = True,
    run_registry: bool = True,
) -> Server:
    """The whole server. The API app's lifespan starts the platform (and its loops,
    unless ``run_loops`` is false) and stops it."""
    platform = build_platform(settings, backend=backend, run_registry=run_registry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        report = await platform.start(run_loops=run_loops)
        if announce is not None:
            backend = platform.backend
            registry = platform.registry
            announce(
                report,
                settings,
                backend.sandbox_report,
                backend.images_report,
                registry.how_to_use() if registry else platform.api.registry_status.summary,
            )
        try:
            yield
        finally:
            await platform.stop()

    api = create_app(platform.api, lifespan=lifespan)
    front = Relays(
        api,
        gateway=platform.gateway,
        jupyter_address=lambda notebook_id: jupyter_address(
            platform.db, notebook_id, platform.api.notebooks.root
        ),
    )
    sandbox = platform.backend.sandbox_report
    console = create_console(
        front,
        infer_timeout_s=settings.infer_timeout_s,
        sandbox_warning=None if sandbox.enabled else f"Sandbox {sandbox.summary}",
    )
    # The console answers what goes wrong outside its pages as the API does (errors in
    # the reference's shape, request IDs, the body cap), as when both shared one app.
    install_error_handlers(console)
    console.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    obs = S3Endpoint(platform.obs, cache_ttl_s=settings.auth_cache_ttl_s)
    router = PortRouter(
        front, obs, console, obs_port=settings.obs_port, console_port=settings.console_port
    )
    return Server(platform=platform, api=api, front=front, console=console, obs=obs, app=router)


def create_server_app(
    settings: Settings, announce: Announce | None = None, *, run_registry: bool = True
) -> PortRouter:
    """What `openarts server` serves on its three sockets (and the registry on its own,
    unless ``run_registry`` is false: another process runs it)."""
    return build_server(settings, announce, run_registry=run_registry).app
