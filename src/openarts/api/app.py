"""create_app(): the FastAPI application, its start-up and shut-down."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from openarts import __version__, console
from openarts.api.auth import Authenticator
from openarts.api.deps import Platform
from openarts.api.errors import RequestContextMiddleware, install_error_handlers
from openarts.api.routers import (
    algorithms,
    authorizations,
    events,
    health,
    iam,
    images,
    metrics,
    models,
    networks,
    notebooks,
    plugin_templates,
    pool_tags,
    pools,
    resources,
    services,
    training_catalog,
    training_jobs,
)
from openarts.backends.base import ComputeBackend
from openarts.backends.local.backend import LocalBackend
from openarts.db.engine import Database
from openarts.domain import notebooks as notebook_domain
from openarts.domain import services as service_domain
from openarts.domain.engines import engine_catalog
from openarts.domain.training import WORKLOAD_KIND
from openarts.gateway.inference import GatewayParts, InferenceGateway
from openarts.gateway.inference_routes import InferenceRoutes
from openarts.gateway.notebook_proxy import NotebookProxy
from openarts.hostinfo import detect_host
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.models import ModelReconciler
from openarts.reconcile.notebooks import NotebookReconciler
from openarts.reconcile.pools import PoolReconciler
from openarts.reconcile.services import ServiceReconciler
from openarts.reconcile.training import TrainingReconciler
from openarts.reconcile.workloads import WorkloadReconciler
from openarts.security.secrets_box import SecretBox
from openarts.services import bootstrap
from openarts.services.engine_envs import EngineEnvironments
from openarts.services.flavors import FlavorCatalog
from openarts.services.inference_services import ServicePlatform
from openarts.services.model_envs import ModelEnvironments
from openarts.services.models import ModelPlatform
from openarts.services.notebook_envs import NotebookEnvironments
from openarts.services.notebook_runtime import NotebookRuntime
from openarts.services.notebooks import NotebookPlatform, jupyter_address
from openarts.services.replica_runtime import ReplicaRuntime
from openarts.services.training_jobs import TrainingPlatform
from openarts.services.training_staging import TrainingStaging
from openarts.settings import Settings
from openarts.storage.factory import open_store, platform_presigner
from openarts.storage.s3_server.app import S3Endpoint

log = logging.getLogger("openarts")

Announce = Callable[[bootstrap.BootstrapReport, Settings], None]
# How long stopping waits for the reconcilers' loops to end.
SHUTDOWN_WAIT_S = 10.0


async def start_platform(settings: Settings) -> tuple[Platform, bootstrap.BootstrapReport]:
    """Open the home and database, migrate, make sure the first identity exists."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    box = SecretBox.from_key_file(settings.secret_key_file)
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()
        async with db.session() as session, session.begin():
            report = await bootstrap.ensure_initial_identity(session, settings, box)
        catalog = FlavorCatalog.load(detect_host(), settings.flavors_override_file)
    except BaseException:
        await db.close()
        raise
    # Files are written after the transaction has committed, never inside it.
    wanted = bootstrap.credentials_csv(report, settings.endpoint, settings.obs_endpoint)
    current = settings.credentials_file
    if not current.exists() or current.read_text("utf-8") != wanted:
        bootstrap.write_private_file(current, wanted)
    if report.generated_password:
        bootstrap.write_private_file(settings.admin_password_file, report.generated_password + "\n")
    change_lock = asyncio.Lock()
    try:
        backend = await open_backend(settings)
    except BaseException:
        await db.close()
        raise
    reconciler = WorkloadReconciler(
        db,
        backend,
        starvation_s=settings.starvation_s,
        stop_grace_s=settings.stop_grace_s,
        interval_s=settings.reconcile_interval_s,
        leadership=Leadership(db, settings.home / "reconciler.lock"),
        pools=PoolReconciler(
            db,
            backend,
            sample_interval_s=settings.pool_sample_interval_s,
            change_lock=change_lock,
        ),
    )
    if isinstance(backend, LocalBackend):
        backend.on_exit = reconciler.wake
    store = open_store(settings, box)
    training = TrainingPlatform(
        catalog=catalog,
        engines=engine_catalog(),
        envs=EngineEnvironments(settings.resolved_engine_cache),
        root=settings.home / "training",
    )
    presigner = platform_presigner(settings, box)
    staging = TrainingStaging(
        db,
        store,
        backend,
        training.root,
        presigner=presigner,
        system_bucket=settings.system_bucket,
    )
    reconciler.preparers[WORKLOAD_KIND] = staging
    training_reconciler = TrainingReconciler(
        db,
        training,
        staging,
        interval_s=settings.reconcile_interval_s,
        sample_interval_s=settings.training_sample_interval_s,
        leadership=reconciler.leadership,
    )
    reconciler.listeners.append(training_reconciler.wake)
    notebook_platform = NotebookPlatform(
        catalog=catalog,
        box=box,
        root=settings.home / "notebooks",
        image_root=settings.home / "images",
        endpoint=settings.endpoint,
        lease_time_scale=settings.notebook_lease_time_scale,
    )
    notebook_runtime = NotebookRuntime(
        db,
        NotebookEnvironments(training.engines, training.envs),
        box,
        notebook_platform.root,
        notebook_platform.image_root,
        store,
        backend,
    )
    reconciler.preparers[notebook_domain.WORKLOAD_KIND] = notebook_runtime
    notebook_reconciler = NotebookReconciler(
        db,
        notebook_runtime,
        backend,
        notebook_platform,
        interval_s=settings.reconcile_interval_s,
        start_timeout_s=settings.notebook_start_timeout_s,
        leadership=reconciler.leadership,
    )
    reconciler.listeners.append(notebook_reconciler.wake)
    model_platform = ModelPlatform(
        root=settings.home / "models",
        store=store,
        envs=ModelEnvironments(settings.home / "model-envs", training.engines, training.envs),
    )
    model_reconciler = ModelReconciler(
        db,
        model_platform,
        interval_s=settings.reconcile_interval_s,
        leadership=reconciler.leadership,
    )
    inference_routes = InferenceRoutes(db)
    reconciler.preparers[service_domain.WORKLOAD_KIND] = ReplicaRuntime(db, backend)
    service_reconciler = ServiceReconciler(
        db,
        backend,
        model_platform,
        interval_s=settings.reconcile_interval_s,
        restart_base_s=settings.replica_restart_base_s,
        leadership=reconciler.leadership,
        on_change=inference_routes.invalidate,
    )
    reconciler.listeners.append(service_reconciler.wake)
    platform = Platform(
        settings=settings,
        db=db,
        box=box,
        auth=Authenticator(settings, db, box),
        catalog=catalog,
        store=store,
        presigner=presigner,
        backend=backend,
        reconciler=reconciler,
        training=training,
        training_reconciler=training_reconciler,
        notebooks=notebook_platform,
        notebook_runtime=notebook_runtime,
        notebook_reconciler=notebook_reconciler,
        models=model_platform,
        model_reconciler=model_reconciler,
        services=ServicePlatform(catalog=catalog, endpoint=settings.endpoint),
        service_reconciler=service_reconciler,
        inference_routes=inference_routes,
        capacity_lock=change_lock,
    )
    return platform, report


async def open_backend(settings: Settings) -> ComputeBackend:
    """The backend the settings name, connected."""
    root = settings.home / "tasks"
    if settings.backend == "ray":
        # Imported only here: Ray is an optional dependency.
        from openarts.backends.ray.backend import RayBackend

        assert settings.ray_address is not None  # the settings' validator sees to it
        backend = RayBackend(
            root,
            settings.ray_address,
            node_ip=settings.ray_node_ip,
            auth_token_file=settings.ray_auth_token_file,
            spare_runners=settings.ray_spare_runners,
        )
        await backend.connect()
        log.info("tasks run on the Ray cluster at %s", settings.ray_address)
        return backend
    return LocalBackend(root, detect_host(), cgroup_parent=settings.cgroup_parent)


async def _stop_loops(loops: list[asyncio.Task[None]]) -> None:
    """Cancel the reconcilers' loops and wait for them, a bounded time: a loop stuck in
    some await must not keep the server from stopping (it is named in the log)."""
    for running in loops:
        running.cancel()
    _, stuck = await asyncio.wait(loops, timeout=SHUTDOWN_WAIT_S)
    for running in stuck:
        log.error("%s did not stop within %.0f s; leaving it", running.get_name(), SHUTDOWN_WAIT_S)
        for frame in running.get_stack():
            log.error(
                "  at %s:%d %s", frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
            )


def _gateway_parts(platform: Platform) -> GatewayParts:
    settings = platform.settings
    return GatewayParts(
        platform.inference_routes,
        platform.auth,
        timeout_s=settings.infer_timeout_s,
        max_body=settings.max_body_bytes,
    )


def create_app(settings: Settings, announce: Announce | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform, report = await start_platform(settings)
        app.state.platform = platform
        # Recovery before serving: every task believed running is polled once, adopted if
        # alive, and recorded as failed (with an event) if it died while we were down.
        # (Only by the leader; another server process already leads otherwise.)
        leadership = platform.reconciler.leadership
        try:
            if leadership is None or await leadership.held():
                await platform.reconciler.run_once()
        except Exception:
            # The loop below keeps trying; a bad row must not keep the server down.
            log.exception("the recovery pass failed")
        # Everything made at start lives as long as the server: moved out of the
        # collector's sight, so its full collections stay short on the hot paths.
        gc.freeze()
        loop = asyncio.create_task(platform.reconciler.run_forever(), name="reconciler")
        training_loop = asyncio.create_task(
            platform.training_reconciler.run_forever(), name="training-reconciler"
        )
        notebook_loop = asyncio.create_task(
            platform.notebook_reconciler.run_forever(), name="notebook-reconciler"
        )
        model_loop = asyncio.create_task(
            platform.model_reconciler.run_forever(), name="model-reconciler"
        )
        service_loop = asyncio.create_task(
            platform.service_reconciler.run_forever(), name="service-reconciler"
        )
        if announce is not None:
            announce(report, settings)
        try:
            yield
        finally:
            # Tasks keep running: the next start adopts them.
            await _stop_loops([loop, training_loop, notebook_loop, model_loop, service_loop])
            await platform.inference_routes.close()
            if leadership is not None:
                # The loop may have been cancelled before it first ran; release() is
                # idempotent, so the lock (and its connection) never outlives the server.
                await leadership.release()
            await platform.store.close()
            await platform.backend.close()
            await platform.db.close()
            log.info("OpenArts stopped")

    app = FastAPI(
        title="OpenArts",
        version=__version__,
        description="A self-hosted machine-learning platform implementing the ModelArts API.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    for module in (
        health,
        iam,
        authorizations,
        events,
        resources,
        pool_tags,
        pools,
        networks,
        plugin_templates,
        algorithms,
        training_jobs,
        training_catalog,
        notebooks,
        images,
        models,
        services,
        metrics,
    ):
        app.include_router(module.router)
    console.install(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _contract_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _contract_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with our real error answers instead of FastAPI's 422."""
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    components["securitySchemes"] = {
        "ApiTokenAuth": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
        "AkSkAuth": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "SDK-HMAC-SHA256 signature, as the Huawei Cloud SDKs send it.",
        },
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
            if path.startswith(("/v1/", "/v2/")):
                operation["security"] = [{"ApiTokenAuth": []}, {"AkSkAuth": []}]
    return schema


CONSOLE_PREFIX = "/console"


class PortRouter:
    """One ASGI application for the listening sockets: requests on the object-storage port
    go to the S3 endpoint; the console's port serves the console alone (its own origin:
    the notebook proxy on the API's origin runs users' JavaScript, which must not read
    console pages); everything else (lifespan too) goes to the API, where the console's
    paths are sent on to the console's origin."""

    def __init__(
        self, api: ASGIApp, obs: ASGIApp, console: ASGIApp, *, obs_port: int, console_port: int
    ) -> None:
        self.api = api
        self.obs = obs
        self.console = console
        self.obs_port = obs_port
        self.console_port = console_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.api(scope, receive, send)
            return
        server = scope.get("server")
        port = server[1] if server else None
        in_console = _is_console_path(scope["path"])
        if scope["type"] == "http" and port == self.obs_port:
            await self.obs(scope, receive, send)
        elif port == self.console_port:
            if in_console:
                await self.console(scope, receive, send)
            else:
                await _answer(scope, receive, send, _console_only(scope))
        elif in_console:
            await _answer(scope, receive, send, self._to_console(scope))
        else:
            await self.api(scope, receive, send)

    def _to_console(self, scope: Scope) -> Response:
        host = Headers(scope=scope).get("host", "127.0.0.1")
        # The same host name the client used, on the console's port.
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        query = scope.get("query_string", b"").decode("latin-1")
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        target = f"{scheme}://{name}:{self.console_port}{scope['path']}"
        return RedirectResponse(target + (f"?{query}" if query else ""), status_code=307)


def _is_console_path(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _console_only(scope: Scope) -> Response:
    if scope["path"] == "/":
        return RedirectResponse(CONSOLE_PREFIX + "/", status_code=307)
    return PlainTextResponse(
        "Not found: this port serves the web console only, under /console/.", status_code=404
    )


async def _answer(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await response(scope, receive, send)


class Relays:
    """The notebook proxy and the inference gateway, in front of the API app itself (not
    among its middleware): relayed calls skip every layer of the API (error pages, body
    caps, request IDs) and stream untouched; the rest passes through to the API."""

    def __init__(self, api: FastAPI) -> None:
        self.proxy = NotebookProxy(
            api, resolve=lambda notebook_id: jupyter_address(api.state.platform.db, notebook_id)
        )
        self.gateway = InferenceGateway(
            self.proxy, parts=lambda: _gateway_parts(api.state.platform)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.gateway(scope, receive, send)

    async def close(self) -> None:
        await self.gateway.close()
        await self.proxy.close()


def create_server_app(settings: Settings, announce: Announce | None = None) -> PortRouter:
    """The API (behind its relays), the embedded S3-compatible endpoint and the console,
    sharing one platform."""
    api = create_app(settings, announce)
    obs = S3Endpoint(lambda: api.state.platform, cache_ttl_s=settings.auth_cache_ttl_s)
    return PortRouter(
        Relays(api),
        obs,
        api,
        obs_port=settings.obs_port,
        console_port=settings.console_port,
    )
