"""Service replicas as tasks: what a replica runs, and the preparer that gives it a port.

A replica of a model with a built-in runtime is the platform's model server
(``python -m openarts.inference.server``) in the model's environment; a replica of a
custom model (type Image) is the model's own ``cmd``, run by the shell from the model's
folder, which must serve HTTP on ``$PORT``. Both listen on the loopback interface of
their node, on a port chosen when the task is about to start.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from openarts.backends.base import BackendError, ComputeBackend, PrepareError, TaskSpec
from openarts.compat import COMPAT_PATH
from openarts.db.engine import Database
from openarts.db.tables import Model, Service, ServiceReplica
from openarts.domain.addresses import UNIX_ADDRESS
from openarts.domain.models import CUSTOM_TYPE
from openarts.domain.sandbox_view import Mount, TaskView
from openarts.domain.services import RESOURCE_TYPE as SERVICE_RESOURCE
from openarts.domain.services import WORKLOAD_KIND
from openarts.errors import OpenArtsError
from openarts.runtime.image_pulls import pull_image
from openarts.runtime.model_envs import ModelEnvironments
from openarts.runtime.model_packages import package_dir
from openarts.runtime.notebook_runtime import project_uid
from openarts.services import workloads as workload_service
from openarts.services.events import record_event_sync
from openarts.services.inference_services import Entry
from openarts.services.registry_images import check_owned, is_platform_copy, place_of
from openarts.unix_sockets import pin_socket

SERVER_MODULE = "openarts.inference.server"
RELAY_MODULE = "openarts.inference.socket_relay"
HEALTH_PATH = "/health"
# ModelArts' paths and port in a replica's container.
MODEL_DIR_INSIDE = "/home/mind/model"
CUSTOM_PORT = 8080
REPLICA_SOCKET_INSIDE = Path("/run/openarts/replica.sock")
REPLICA_SOCKET = Path(REPLICA_SOCKET_INSIDE.name)
# The replica's own folder for its socket (what it sees as /run/openarts); the socket is
# pinned beside it, where the gateway dials it.
REPLICA_SOCKET_FOLDER = "socket"


# Set on a custom server's task that speaks HTTPS: the relay in front of it speaks TLS.
TLS_MARK = "OPENARTS_REPLICA_TLS"
# Set on the server's task of a model that is a container image: the image it runs.
IMAGE_MARK = "OPENARTS_REPLICA_IMAGE"
# What the relay beside an image's server is given (and counted for).
RELAY_VCPUS = 0.1
RELAY_MEMORY_BYTES = 64 * 2**20


def speaks_https(model: Model) -> bool:
    """Whether a custom server serves HTTPS, as its config.json's health check or APIs
    say (ModelArts' custom images may: a Flask app with ssl_context="adhoc")."""
    health = json.loads(model.health or "{}")
    try:
        apis = json.loads(model.apis or "[]")
    except ValueError:
        apis = []
    said = [health.get("protocol")] if isinstance(health, dict) else []
    said += (
        [a.get("protocol") for a in apis if isinstance(a, dict)] if isinstance(apis, list) else []
    )
    return any(str(p).lower() == "https" for p in said if p)


def health_path(model: Model) -> str:
    """Where a replica of ``model`` answers once it is ready."""
    if model.model_type == CUSTOM_TYPE:
        url = json.loads(model.health).get("url")
        if isinstance(url, str) and url.startswith("/"):
            return url
    return HEALTH_PATH


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """Where published models' packages and their Python environments are."""

    root: Path  # the model store: <root>/<model id>/model/
    envs: ModelEnvironments
    # Where sandboxed replicas' sockets are (addresses are relative to it).
    sockets: Path = Path("/nonexistent")


def replica_task(
    files: ModelFiles, service: Service, replica: ServiceReplica, entry: Entry, model: Model
) -> workload_service.TaskTemplate:
    folder = package_dir(files.root, model.id)
    python = files.envs.python_of(model.environment)
    env = {
        **entry.envs,
        "OPENARTS_SERVICE_ID": service.id,
        "OPENARTS_REPLICA_ID": replica.id,
        "MODEL_NAME": model.name,
        "PYTHONUNBUFFERED": "1",
        # moxing, which ModelArts' model code imports too, after the user's own path.
        "PYTHONPATH": os.pathsep.join(p for p in (entry.envs.get("PYTHONPATH"), COMPAT_PATH) if p),
    }
    if model.model_type == CUSTOM_TYPE:
        command = ["/bin/sh", "-c", model.cmd]
        env["PATH"] = f"{python.parent}:/usr/local/bin:/usr/bin:/bin"
        if speaks_https(model):
            # For the preparer (taken out of the server's variables there).
            env[TLS_MARK] = "1"
    else:
        command = [
            str(python),
            "-m",
            SERVER_MODULE,
            "--model-dir",
            str(folder),
            "--model-name",
            model.name,
        ]
    return workload_service.TaskTemplate(
        command,
        str(folder),
        env,
        vcpus=entry.vcpus,
        memory_bytes=entry.memory_bytes,
        gpus=entry.gpus,
    )


def replica_tasks(
    files: ModelFiles, service: Service, replica: ServiceReplica, entry: Entry, model: Model
) -> list[workload_service.TaskTemplate]:
    """The replica's tasks: one; for a model that is a container image, two sharing a
    network (the image's server on 8080, and the relay the gateway reaches it through)."""
    if not model.image:
        return [replica_task(files, service, replica, entry, model)]
    env = {
        **entry.envs,
        "OPENARTS_SERVICE_ID": service.id,
        "OPENARTS_REPLICA_ID": replica.id,
        "MODEL_NAME": model.name,
        "PYTHONUNBUFFERED": "1",
        "PORT": str(CUSTOM_PORT),
        # For the preparer, which pulls it and builds both tasks' views (taken out of
        # the server's variables there).
        IMAGE_MARK: model.image,
    }
    if speaks_https(model):
        env[TLS_MARK] = "1"
    server = workload_service.TaskTemplate(
        # No cmd: the image's own ENTRYPOINT and CMD (read by the preparer).
        ["/bin/sh", "-c", model.cmd] if model.cmd else [],
        "/",
        env,
        vcpus=entry.vcpus,
        memory_bytes=entry.memory_bytes,
        gpus=entry.gpus,
    )
    relay = workload_service.TaskTemplate(
        [
            sys.executable,
            "-m",
            RELAY_MODULE,
            "--socket",
            str(REPLICA_SOCKET_INSIDE),
            "--port",
            str(CUSTOM_PORT),
        ],
        "/",
        {"PYTHONUNBUFFERED": "1"},
        # A few connections' worth of copying, with limits of its own.
        vcpus=RELAY_VCPUS,
        memory_bytes=RELAY_MEMORY_BYTES,
    )
    return [server, relay]


def submit_replica(
    session: Session,
    files: ModelFiles,
    service: Service,
    replica: ServiceReplica,
    entry: Entry,
    model: Model,
) -> None:
    """Queue the replica's task (again, after a restart): a workload of its own."""
    workload = workload_service.submit_workload_sync(
        session,
        project_id=service.project_id,
        kind=WORKLOAD_KIND,
        resource_id=replica.id,
        tasks=replica_tasks(files, service, replica, entry, model),
        pool=service.pool_name,
    )
    replica.workload_id = workload.id
    replica.address = ""
    replica.reason = ""


class ReplicaRuntime:
    """The workload reconciler's preparer for service replicas: a port, just before start;
    or, in a sandbox, its view and a Unix socket under ``sockets`` (one folder per
    replica)."""

    def __init__(
        self,
        db: Database,
        backend: ComputeBackend,
        *,
        sockets: Path | None = None,
        sandboxed: bool = False,
        registry_address: str | None = None,
    ) -> None:
        self.db = db
        self.backend = backend
        self.sockets = sockets
        self.sandboxed = sandboxed
        # The platform's registry, whose images a replica runs only from its project's
        # namespaces (or the platform's own copies).
        self.registry_address = registry_address

    async def prepare(self, workload_id: str, specs: list[TaskSpec]) -> list[TaskSpec]:
        spec = specs[0]
        if len(specs) == 2 and IMAGE_MARK in spec.env:
            return await self._image_replica(workload_id, specs)
        # A variable of that name a user gave an ordinary model means nothing.
        spec = replace(spec, env={k: v for k, v in spec.env.items() if k != IMAGE_MARK})
        if self.sandboxed:
            return [await self._sandboxed(workload_id, spec)]
        if TLS_MARK in spec.env:
            raise PrepareError(
                "this custom server speaks HTTPS (its config.json says so); the platform "
                "reaches such a server through the relay of its sandbox, which is off here: "
                "serve plain HTTP, or run the server with OPENARTS_SANDBOX=required"
            )
        ip = self.backend.address_of(spec.node)
        port = await self.backend.free_port(spec.node)
        if not await self.db.run_in_transaction(_record_address, workload_id, f"{ip}:{port}"):
            raise PrepareError("the replica left its service before it started")
        command = spec.command
        if command[1:3] == ("-m", SERVER_MODULE):
            command = (*command, "--port", str(port), "--host", ip)
        return [replace(spec, command=command, env={**spec.env, "PORT": str(port)})]

    async def _image_replica(self, workload_id: str, specs: list[TaskSpec]) -> list[TaskSpec]:
        """A container image's replica: the image pulled on the node (a step with events
        on the service), its server run over the image's root file system as ModelArts
        runs it (uid 1000, port 8080), and the relay beside it in the same network,
        on the host's system, making the replica's Unix socket."""
        if not self.sandboxed:
            raise PrepareError(
                "a model that is a container image runs in the sandbox, which is off here"
            )
        server, relay = specs
        env = dict(server.env)
        image = env.pop(IMAGE_MARK)
        tls = ["--tls"] if env.pop(TLS_MARK, "") else []
        found = await self.db.run_in_transaction(_replica_of_workload, workload_id)
        if found is None:
            raise PrepareError("the replica left its service before it started")
        replica_id, project_id = found
        if place_of(self.registry_address, image) is not None and not is_platform_copy(image):
            # A tag run as it is (source_copy false): still the project's own now.
            async with self.db.session() as session:
                try:
                    await check_owned(
                        session, self.registry_address, project_id, image, "source_location"
                    )
                except OpenArtsError as error:
                    raise PrepareError(error.error_msg) from None
        await self._pull(workload_id, image, server.node)
        try:
            config = await self.backend.image_config(image, server.node)
        except BackendError as error:
            raise PrepareError(str(error)) from None
        command = server.command or (*config.entrypoint, *config.cmd)
        if not command:
            raise PrepareError(
                f"image {image} names no command (ENTRYPOINT or CMD) and the model gives "
                "no cmd: give one of them"
            )
        own = await self._socket_folder(workload_id, replica_id)
        uid = await self.db.run_in_transaction(project_uid, project_id)
        hostname = f"model-{replica_id}"[:63]
        # One per start: a replica starting again never joins the namespace its last
        # start is leaving.
        network = f"replica-{workload_id}"
        server_view = TaskView(
            uid=uid, hostname=hostname, network=network, egress=True, image=image
        )
        relay_view = TaskView(
            uid=uid,
            hostname=hostname,
            mounts=(Mount(str(own), str(REPLICA_SOCKET_INSIDE.parent), writable=True),),
            network=network,
            egress=True,
        )
        return [
            replace(
                server,
                command=tuple(command),
                env=env,
                workdir=Path(config.workdir or "/"),
                view=server_view,
            ),
            replace(relay, command=(*relay.command, *tls), workdir=Path("/"), view=relay_view),
        ]

    async def _pull(self, workload_id: str, image: str, node: str) -> None:
        async def say(reason: str, message: str) -> None:
            await self.db.run_in_transaction(_service_event, workload_id, reason, message)

        await pull_image(self.backend, image, node, say)

    async def _socket_folder(self, workload_id: str, replica_id: str) -> Path:
        """The replica's own folder for its socket, made afresh, and its address
        recorded: the gateway dials the socket pinned beside that folder."""
        assert self.sockets is not None
        folder = self.sockets / replica_id
        await asyncio.to_thread(_fresh_folder, folder)
        address = f"{UNIX_ADDRESS}{replica_id}/{REPLICA_SOCKET.name}"
        if not await self.db.run_in_transaction(_record_address, workload_id, address):
            raise PrepareError("the replica left its service before it started")
        return folder / REPLICA_SOCKET_FOLDER

    async def _sandboxed(self, workload_id: str, spec: TaskSpec) -> TaskSpec:
        """The replica in its sandbox: the model's package at /home/mind/model (read-only,
        as ModelArts mounts it), its own network where it may listen on 8080 beside any
        other replica, reached by the gateway through a Unix socket only: the model
        server's own, or a relay's in front of a custom server's port."""
        found = await self.db.run_in_transaction(_replica_of_workload, workload_id)
        if found is None:
            raise PrepareError("the replica left its service before it started")
        replica_id, project_id = found
        own = await self._socket_folder(workload_id, replica_id)
        uid = await self.db.run_in_transaction(project_uid, project_id)
        inside = str(REPLICA_SOCKET_INSIDE)
        command = list(spec.command)
        env = dict(spec.env)
        software: tuple[str, ...] = ()
        if command[1:3] == ["-m", SERVER_MODULE]:
            at = command.index("--model-dir")
            command[at + 1] = MODEL_DIR_INSIDE
            command += ["--socket", inside]
        else:
            # A custom server listens on $PORT; the relay (standard library only, run by
            # the server's Python) passes the platform's calls to it.
            software = (env["PATH"].split(":", 1)[0] + "/python",)
            tls = ["--tls"] if env.pop(TLS_MARK, "") else []
            command = [
                sys.executable,
                "-m",
                RELAY_MODULE,
                "--socket",
                inside,
                "--port",
                str(CUSTOM_PORT),
                *tls,
                "--",
                *command,
            ]
            env["PORT"] = str(CUSTOM_PORT)
        view = TaskView(
            uid=uid,
            hostname=f"model-{replica_id}"[:63],
            mounts=(
                Mount(str(spec.workdir), MODEL_DIR_INSIDE, writable=False),
                Mount(str(own), str(REPLICA_SOCKET_INSIDE.parent), writable=True),
            ),
            software=software,
            egress=True,  # its package index, the object-storage endpoint
        )
        return replace(
            spec,
            command=tuple(command),
            env=env,
            workdir=Path(MODEL_DIR_INSIDE),
            view=view,
        )


def _record_address(session: Session, workload_id: str, address: str) -> bool:
    replica = session.scalar(
        select(ServiceReplica).where(ServiceReplica.workload_id == workload_id)
    )
    if replica is None:
        return False
    replica.address = address
    return True


def _replica_of_workload(session: Session, workload_id: str) -> tuple[str, str] | None:
    replica = session.scalar(
        select(ServiceReplica).where(ServiceReplica.workload_id == workload_id)
    )
    if replica is None:
        return None
    service = session.get(Service, replica.service_id)
    return (replica.id, service.project_id) if service is not None else None


def _service_event(session: Session, workload_id: str, reason: str, message: str) -> None:
    replica = session.scalar(
        select(ServiceReplica).where(ServiceReplica.workload_id == workload_id)
    )
    service = session.get(Service, replica.service_id) if replica is not None else None
    if service is not None:
        record_event_sync(
            session,
            project_id=service.project_id,
            resource_type=SERVICE_RESOURCE,
            resource_name=service.name,
            resource_id=service.id,
            reason=reason,
            message=message,
        )


def _fresh_folder(folder: Path) -> None:
    """The replica's folder: its own folder for its socket (empty), and no pin of a
    socket a replica before it left."""
    own = folder / REPLICA_SOCKET_FOLDER
    if own.is_symlink():
        own.unlink()
    own.mkdir(parents=True, exist_ok=True)
    (own / REPLICA_SOCKET.name).unlink(missing_ok=True)
    (folder / REPLICA_SOCKET.name).unlink(missing_ok=True)


def pin_replica_socket(pin: Path) -> bool:
    """Pin the socket the replica made in its own folder where the gateway dials it
    (``pin``, in the replica's folder, which the replica cannot write): never a socket
    it points elsewhere. True once pinned."""
    if pin.exists():
        return True
    own = pin.parent / REPLICA_SOCKET_FOLDER
    try:
        owner = own.stat().st_uid if os.geteuid() == 0 else None
    except FileNotFoundError:
        return False
    return pin_socket(own / pin.name, pin, owner)
