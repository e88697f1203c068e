"""The platform: every long-lived object of one server, made here and nowhere else.

``build_platform`` makes them (no I/O beyond the home folder and its key); ``start``
opens what needs opening (the database's migrations, the first identity, the backend),
makes the recovery pass and starts the loops; ``stop`` lets go of everything, leaving
tasks running for the next start to adopt.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass, field

from openarts.api.deps import ApiParts
from openarts.backends.base import ComputeBackend
from openarts.backends.images import ImageStore, RegistryLogin
from openarts.backends.local.backend import LocalBackend
from openarts.backends.sandbox import Sandbox
from openarts.db.engine import Database
from openarts.db.notes_feed import NotesFeed
from openarts.domain import notebooks as notebook_domain
from openarts.domain import services as service_domain
from openarts.domain.engines import engine_catalog
from openarts.domain.sandbox_view import OFF_REPORT, SandboxReport
from openarts.domain.training import WORKLOAD_KIND as TRAINING_KIND
from openarts.gateway.inference import GatewayParts
from openarts.gateway.inference_routes import InferenceRoutes
from openarts.hostinfo import detect_host
from openarts.obs_endpoint.app import ObsParts
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.models import ModelReconciler
from openarts.reconcile.notebooks import NotebookReconciler
from openarts.reconcile.pools import PoolReconciler
from openarts.reconcile.services import ServiceReconciler
from openarts.reconcile.training import TrainingReconciler
from openarts.reconcile.uploads import UploadExpiry
from openarts.reconcile.workloads import WorkloadReconciler
from openarts.runtime.engine_envs import EngineEnvironments
from openarts.runtime.env_builds import EnvironmentBuilder
from openarts.runtime.job_requirements import RequirementLayers
from openarts.runtime.model_envs import ModelEnvironments
from openarts.runtime.notebook_envs import NotebookEnvironments
from openarts.runtime.notebook_runtime import NotebookRuntime
from openarts.runtime.replica_runtime import ModelFiles, ReplicaRuntime
from openarts.runtime.storage_access import WithStorageCredentials
from openarts.runtime.training_staging import TrainingStaging
from openarts.security.secrets_box import SecretBox
from openarts.server.loops import Loops
from openarts.server.registry import (
    EmbeddedRegistry,
    RegistryUnavailable,
    external_registry,
    no_registry,
)
from openarts.services import bootstrap
from openarts.services.authentication import Authenticator
from openarts.services.flavors import FlavorCatalog
from openarts.services.hints import Hint
from openarts.services.hosts import Hosts
from openarts.services.inference_services import ServicePlatform
from openarts.services.inference_traffic import InferenceTraffic
from openarts.services.models import ModelPlatform
from openarts.services.notebooks import NotebookPlatform
from openarts.services.pools import PoolChanges
from openarts.services.registry_access import PlatformRegistry, RegistryStatus, RegistryTokens
from openarts.services.training_jobs import TrainingPlatform
from openarts.services.training_logs import TrainingLogs
from openarts.settings import Settings
from openarts.storage.base import ObjectStore
from openarts.storage.factory import open_store, platform_presigner
from openarts.storage.presign import PlatformPresigner

log = logging.getLogger("openarts")


@dataclass
class Platform:
    settings: Settings
    db: Database
    box: SecretBox
    store: ObjectStore
    presigner: PlatformPresigner
    backend: ComputeBackend
    # What each face is given.
    api: ApiParts
    gateway: GatewayParts
    obs: ObsParts
    # The loops, in the one list that starts and stops them, and each by name (the
    # recovery pass and the tests step them).
    loops: Loops
    notes_feed: NotesFeed
    workloads: WorkloadReconciler
    training_loop: TrainingReconciler
    notebook_loop: NotebookReconciler
    model_loop: ModelReconciler
    service_loop: ServiceReconciler
    # The loops' adapters (tests hold a step of theirs).
    staging: TrainingStaging
    notebook_runtime: NotebookRuntime
    models: ModelPlatform
    # The embedded image registry this process runs (None: off, missing, or another
    # process runs it), and what the banner and /health say of it.
    registry: EmbeddedRegistry | None = None
    report: bootstrap.BootstrapReport | None = field(default=None)
    _registry_wait: asyncio.Task[None] | None = None

    async def start(self, *, run_loops: bool = True) -> bootstrap.BootstrapReport:
        """Migrate, make sure the first identity exists, reach the backend, recover what
        ran before, then start the loops (unless ``run_loops`` is false: a test steps
        them itself)."""
        try:
            await self.db.migrate()
            # SQLite's files (and the WAL and shared memory, which take their mode from
            # the database's) are the server's alone.
            for path in self.settings.home.glob("openarts.db*"):
                path.chmod(0o600)
            async with self.db.session() as session, session.begin():
                report = await bootstrap.ensure_initial_identity(session, self.settings, self.box)
            _write_identity_files(report, self.settings)
            await self.backend.connect()
        except BaseException:
            await self.db.close()
            raise
        self.report = report
        if self.registry is not None:
            # The wait for a registry an older server left runs off the loop; the start
            # itself on this thread (its parent-death signal follows the forking thread).
            await asyncio.to_thread(self.registry.end_leftover)
            try:
                self.registry.start()
            except RegistryUnavailable as error:
                log.error("the image registry is not running: %s", error)
                self.registry.status.summary = str(error)
                self.registry = None
            else:
                # Not awaited: the API answers meanwhile; a registry that fails says why
                # in the log and in /health.
                self._registry_wait = asyncio.create_task(self._registry_ready(self.registry))
        if run_loops:
            await self._recover()
        # Everything made at start lives as long as the server: moved out of the
        # collector's sight, so its full collections stay short on the hot paths.
        gc.freeze()
        if run_loops:
            self.loops.start()
            # Notes committed by other server processes on the same database wake these
            # loops as this process's own do (PostgreSQL; nothing on SQLite).
            self.notes_feed.start()
        return report

    async def _recover(self) -> None:
        """Before serving, every task believed running is polled once, adopted if alive,
        and recorded as failed (with an event) if it died while the server was down; only
        by the leader (another server process leads otherwise)."""
        leadership = self.workloads.leadership
        try:
            if leadership is None or await leadership.held():
                await self.workloads.run_once()
        except Exception:
            # The loop keeps trying; a bad row must not keep the server down.
            log.exception("the recovery pass failed")

    async def _registry_ready(self, registry: EmbeddedRegistry) -> None:
        status = await registry.wait_ready()
        if not status.enabled:
            log.error("the image registry is not running: %s", status.summary)

    async def stop(self) -> None:
        # Tasks keep running: the next start adopts them.
        if self._registry_wait is not None:
            self._registry_wait.cancel()
        if self.registry is not None:
            await asyncio.to_thread(self.registry.stop)
        await self.notes_feed.stop()
        await self.loops.stop()
        await self.api.traffic.close()
        if self.workloads.leadership is not None:
            # The loop may have been cancelled before it first ran; release() is
            # idempotent, so the lock (and its connection) never outlives the server.
            await self.workloads.leadership.release()
        await self.store.close()
        await self.backend.close()
        await self.db.close()
        log.info("OpenArts stopped")


def build_platform(
    settings: Settings, *, backend: ComputeBackend | None = None, run_registry: bool = True
) -> Platform:
    """Every long-lived object of one server, wired together (``run_registry``: this
    process runs the embedded registry; a worker among several leaves it to the first)."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Kept closed to everyone else even when made by hand before (tasks' folders inside
    # are bound into their sandboxes by root, never reached through it).
    settings.home.chmod(0o700)
    box = SecretBox.from_key_file(settings.secret_key_file)
    db = Database(settings.resolved_database_url, lock_wait_s=settings.sqlite_lock_wait_s)
    catalog = FlavorCatalog.load(detect_host(), settings.flavors_override_file)
    setup = open_registry(settings)
    if not run_registry:
        _run_by_another(setup.process)
    backend = backend if backend is not None else open_backend(settings, setup.login)
    store = open_store(settings, box)
    presigner = platform_presigner(settings, box)
    hosts = Hosts(backend, settings.public_cpu_share)
    # Serialises changes to pools, nodes, networks and tags, and admission onto pool
    # nodes, within this process (see services.pools.pool_change).
    capacity_lock = asyncio.Lock()
    leadership = Leadership(db, settings.home / "reconciler.lock")
    interval = settings.reconcile_interval_s

    # Builds run in a sandbox of their own where tasks do (runtime/env_builds.py).
    builder = EnvironmentBuilder(
        backend.sandbox,
        settings.home / "tasks" / ".builds",
    )
    engine_envs = EngineEnvironments(settings.resolved_engine_cache, builder)
    training = TrainingPlatform(
        catalog=catalog,
        engines=engine_catalog(),
        envs=engine_envs,
        root=settings.home / "training",
        sandboxed=backend.sandbox_report.enabled,
        images=backend.images_report.enabled,
        images_reason=backend.images_report.summary,
        registry_address=setup.images.address if setup.images else None,
    )
    training_logs = TrainingLogs(
        db, store, backend, presigner=presigner, system_bucket=settings.system_bucket
    )
    # A job's pip-requirements.txt, installed over its engine (kept: jobs asking for the
    # same share it).
    requirements = RequirementLayers(settings.home / "job-envs", builder)
    staging = TrainingStaging(db, store, backend, training.root, requirements)
    notebooks = NotebookPlatform(
        catalog=catalog,
        box=box,
        root=settings.home / "notebooks",
        image_root=settings.home / "images",
        endpoint=settings.endpoint,
        lease_time_scale=settings.notebook_lease_time_scale,
        images_unavailable=images_unavailable(backend),
        registry_address=setup.images.address if setup.images else None,
    )
    notebook_runtime = NotebookRuntime(
        db,
        NotebookEnvironments(training.engines, engine_envs),
        box,
        notebooks.root,
        notebooks.image_root,
        store,
        backend,
        sandbox=backend.sandbox,
        registry=setup.images,
    )
    models = ModelPlatform(
        root=settings.home / "models",
        store=store,
        registry=setup.images,
        images_unavailable=images_unavailable(backend),
    )
    traffic = InferenceTraffic(db)
    # Sandboxed replicas' sockets, a folder each (their addresses are relative to it).
    replica_sockets = settings.home / "replicas"
    routes = InferenceRoutes(db, sockets=replica_sockets)

    workloads = WorkloadReconciler(
        db,
        backend,
        starvation_s=settings.starvation_s,
        stop_grace_s=settings.stop_grace_s,
        interval_s=interval,
        leadership=leadership,
        pools=PoolReconciler(
            db,
            backend,
            sample_interval_s=settings.pool_sample_interval_s,
            change_lock=capacity_lock,
        ),
        preparers={
            kind: WithStorageCredentials(
                preparer, db, box, obs_port=settings.obs_port, region=settings.s3_region
            )
            for kind, preparer in (
                (TRAINING_KIND, staging),
                (notebook_domain.WORKLOAD_KIND, notebook_runtime),
                (
                    service_domain.WORKLOAD_KIND,
                    ReplicaRuntime(
                        db,
                        backend,
                        sockets=replica_sockets,
                        sandboxed=backend.sandbox_report.enabled,
                        registry_address=training.registry_address,
                    ),
                ),
            )
        },
        hosts=hosts,
    )
    training_loop = TrainingReconciler(
        db,
        training,
        staging,
        engine_envs,
        training_logs,
        interval_s=interval,
        sample_interval_s=settings.training_sample_interval_s,
        leadership=leadership,
    )
    notebook_loop = NotebookReconciler(
        db,
        notebook_runtime,
        backend,
        notebooks,
        interval_s=interval,
        start_timeout_s=settings.notebook_start_timeout_s,
        leadership=leadership,
    )
    model_envs = ModelEnvironments(
        settings.home / "model-envs", training.engines, engine_envs, settings.home / "model-server"
    )
    model_loop = ModelReconciler(db, models, model_envs, interval_s=interval, leadership=leadership)
    service_loop = ServiceReconciler(
        db,
        backend,
        ModelFiles(models.root, model_envs, sockets=replica_sockets),
        interval_s=interval,
        restart_base_s=settings.replica_restart_base_s,
        leadership=leadership,
        on_change=routes.invalidate,
    )

    loops = Loops()
    loops.add("reconciler", workloads, woken_by=[Hint.WORKLOADS])
    # Only a workload's move asks anything of a training job's loop: not woken by every
    # workload pass (one a create at 100 creates a second), as the loops below are.
    loops.add("training-reconciler", training_loop, woken_by=[Hint.TRAINING, Hint.WORKLOAD_MOVED])
    loops.add("notebook-reconciler", notebook_loop, woken_by=[Hint.NOTEBOOKS])
    loops.add("model-reconciler", model_loop, woken_by=[Hint.MODELS])
    loops.add("service-reconciler", service_loop, woken_by=[Hint.SERVICES])
    loops.add(
        "upload-expiry",
        UploadExpiry(store, expiry_s=settings.multipart_expiry_s, leadership=leadership),
    )
    loops.listen(Hint.IMAGES, notebook_loop.images_gone)
    loops.listen(Hint.ROUTES, routes.invalidate)
    # Whatever a committed transaction hinted reaches the loops.
    db.on_commit = loops.hint
    # The loops that follow workloads' statuses look again after every workload pass.
    workloads.listeners += [notebook_loop.wake, service_loop.wake]
    if isinstance(backend, LocalBackend):
        # A task's process that ends wakes the workload loop at once.
        backend.on_exit = workloads.wake

    auth = Authenticator(settings, db, box)
    return Platform(
        settings=settings,
        db=db,
        box=box,
        store=store,
        presigner=presigner,
        backend=backend,
        api=ApiParts(
            settings=settings,
            db=db,
            auth=auth,
            box=box,
            catalog=catalog,
            store=store,
            backend=backend,
            hosts=hosts,
            pool_changes=PoolChanges(db, capacity_lock),
            training=training,
            training_logs=training_logs,
            notebooks=notebooks,
            services=ServicePlatform(catalog=catalog, endpoint=settings.endpoint),
            traffic=traffic,
            sandbox=backend.sandbox_report,
            registry=setup.tokens,
            image_registry=setup.images,
            registry_status=setup.status,
        ),
        gateway=GatewayParts(
            routes=routes,
            traffic=traffic,
            auth=auth,
            timeout_s=settings.infer_timeout_s,
            max_body=settings.max_body_bytes,
        ),
        obs=ObsParts(store=store, db=db, box=box, presigner=presigner, settings=settings),
        loops=loops,
        notes_feed=NotesFeed(db, loops.hint),
        workloads=workloads,
        training_loop=training_loop,
        notebook_loop=notebook_loop,
        model_loop=model_loop,
        service_loop=service_loop,
        staging=staging,
        notebook_runtime=notebook_runtime,
        models=models,
        registry=setup.process if run_registry else None,
    )


@dataclass(frozen=True, slots=True)
class RegistrySetup:
    """The platform's registry as each part needs it: the process this server runs (the
    embedded one), its token service's side, the registry whose namespaces are the
    projects' (embedded or external), how nodes pull from it, and what to say of it."""

    process: EmbeddedRegistry | None
    tokens: RegistryTokens | None
    images: PlatformRegistry | None
    login: RegistryLogin | None
    status: RegistryStatus


def images_unavailable(backend: ComputeBackend) -> str | None:
    """Why a container image cannot run on this backend; None when it can (they run in
    the sandbox, over the image's root file system)."""
    if not backend.images_report.enabled:
        return backend.images_report.summary
    if not backend.sandbox_report.enabled:
        return "container images run only in the sandbox, which is off here"
    return None


def _run_by_another(registry: EmbeddedRegistry | None) -> None:
    """A worker among several: the first process started the registry and waited for it;
    the worker says what that one says of it."""
    if registry is not None:
        registry.status.enabled, registry.status.summary = True, registry.how_to_use()


def open_registry(settings: Settings) -> RegistrySetup:
    """The registry the settings name (the embedded one's files made once per home);
    none, with the reason, when they turn it off or it cannot run here."""
    if settings.registry == "off":
        return RegistrySetup(None, None, None, None, no_registry())
    if settings.registry == "external":
        external, login, status = external_registry(settings)
        return RegistrySetup(None, None, external, login, status)
    registry = EmbeddedRegistry(settings)
    try:
        tokens, login = registry.prepare()
    except RegistryUnavailable as error:
        log.warning("no image registry: %s", error)
        return RegistrySetup(None, None, None, None, RegistryStatus(False, str(error)))
    return RegistrySetup(registry, tokens, tokens, login, registry.status)


def open_backend(settings: Settings, registry: RegistryLogin | None = None) -> ComputeBackend:
    """The backend the settings name (``start`` connects it)."""
    root = settings.home / "tasks"
    if settings.backend == "ray":
        # Imported only here: Ray is an optional dependency.
        from openarts.backends.ray.backend import RayBackend

        assert settings.ray_address is not None  # the settings' validator sees to it
        log.info("tasks run on the Ray cluster at %s", settings.ray_address)
        return RayBackend(
            root,
            settings.ray_address,
            node_ip=settings.ray_node_ip,
            auth_token_file=settings.ray_auth_token_file,
            spare_runners=settings.ray_spare_runners,
            # Checked here; each node's runner makes the same one there.
            sandbox=open_sandbox(settings),
        )
    return LocalBackend(
        root,
        detect_host(),
        cgroup_parent=settings.cgroup_parent,
        sandbox=open_sandbox(settings),
        images=ImageStore(registry=registry),
    )


def open_sandbox(settings: Settings) -> Sandbox | None:
    """The sandbox, checked to work (SandboxUnavailable says what is missing); None
    when the settings turn it off."""
    if settings.sandbox == "off":
        log.warning("THE SANDBOX IS OFF: %s", OFF_REPORT.summary)
        return None
    # Tasks reach the object-storage endpoint at its port on their own loopback.
    sandbox = Sandbox(
        settings.home / "tasks" / ".sandbox",
        hidden=[settings.home],
        forward_ports=[settings.obs_port] if settings.obs_port else [],
    )
    sandbox.probe()
    return sandbox


def _write_identity_files(report: bootstrap.BootstrapReport, settings: Settings) -> None:
    """The credentials file and the first admin password, written after the transaction
    that made them has committed, never inside it."""
    wanted = bootstrap.credentials_csv(report, settings.endpoint, settings.obs_endpoint)
    current = settings.credentials_file
    if not current.exists() or current.read_text("utf-8") != wanted:
        bootstrap.write_private_file(current, wanted)
    if report.generated_password:
        bootstrap.write_private_file(settings.admin_password_file, report.generated_password + "\n")


async def prepare(settings: Settings) -> tuple[bootstrap.BootstrapReport, SandboxReport]:
    """What one process does before several serve (``openarts server --workers``): bring
    the schema up to date and make the first identity, once, so the workers only find
    them; and check the sandbox, to say what isolation the tasks get."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.home.chmod(0o700)
    sandbox = open_sandbox(settings)
    box = SecretBox.from_key_file(settings.secret_key_file)
    db = Database(settings.resolved_database_url, lock_wait_s=settings.sqlite_lock_wait_s)
    try:
        await db.migrate()
        async with db.session() as session, session.begin():
            report = await bootstrap.ensure_initial_identity(session, settings, box)
        _write_identity_files(report, settings)
    finally:
        await db.close()
    return report, sandbox.report if sandbox is not None else OFF_REPORT
