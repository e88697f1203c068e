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

from openarts.backends.base import ComputeBackend, PrepareError, TaskSpec
from openarts.compat import COMPAT_PATH
from openarts.db.engine import Database
from openarts.db.tables import Model, Service, ServiceReplica
from openarts.domain.addresses import UNIX_ADDRESS
from openarts.domain.models import CUSTOM_TYPE
from openarts.domain.sandbox_view import Mount, TaskView
from openarts.domain.services import WORKLOAD_KIND
from openarts.runtime.model_envs import ModelEnvironments
from openarts.runtime.model_packages import package_dir
from openarts.runtime.notebook_runtime import project_uid
from openarts.services import workloads as workload_service
from openarts.services.inference_services import Entry
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
        tasks=[replica_task(files, service, replica, entry, model)],
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
    ) -> None:
        self.db = db
        self.backend = backend
        self.sockets = sockets
        self.sandboxed = sandboxed

    async def prepare(self, workload_id: str, specs: list[TaskSpec]) -> list[TaskSpec]:
        spec = specs[0]
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

    async def _sandboxed(self, workload_id: str, spec: TaskSpec) -> TaskSpec:
        """The replica in its sandbox: the model's package at /home/mind/model (read-only,
        as ModelArts mounts it), its own network where it may listen on 8080 beside any
        other replica, reached by the gateway through a Unix socket only: the model
        server's own, or a relay's in front of a custom server's port."""
        assert self.sockets is not None
        found = await self.db.run_in_transaction(_replica_of_workload, workload_id)
        if found is None:
            raise PrepareError("the replica left its service before it started")
        replica_id, project_id = found
        folder = self.sockets / replica_id
        await asyncio.to_thread(_fresh_folder, folder)
        own = folder / REPLICA_SOCKET_FOLDER
        uid = await self.db.run_in_transaction(project_uid, project_id)
        address = f"{UNIX_ADDRESS}{replica_id}/{REPLICA_SOCKET.name}"
        if not await self.db.run_in_transaction(_record_address, workload_id, address):
            raise PrepareError("the replica left its service before it started")
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
