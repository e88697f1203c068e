"""Service replicas as tasks: what a replica runs, and the preparer that gives it a port.

A replica of a model with a built-in runtime is the platform's model server
(``python -m openarts.inference.server``) in the model's environment; a replica of a
custom model (type Image) is the model's own ``cmd``, run by the shell from the model's
folder, which must serve HTTP on ``$PORT``. Both listen on the loopback interface of
their node, on a port chosen when the task is about to start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from openarts.backends.base import ComputeBackend, PrepareError, TaskSpec
from openarts.db.engine import Database
from openarts.db.tables import Model, Service, ServiceReplica
from openarts.domain.models import CUSTOM_TYPE
from openarts.domain.services import WORKLOAD_KIND
from openarts.runtime.model_envs import ModelEnvironments
from openarts.runtime.model_packages import package_dir
from openarts.services import workloads as workload_service
from openarts.services.inference_services import Entry

SERVER_MODULE = "openarts.inference.server"
HEALTH_PATH = "/health"


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
    }
    if model.model_type == CUSTOM_TYPE:
        command = ["/bin/sh", "-c", model.cmd]
        env["PATH"] = f"{python.parent}:/usr/local/bin:/usr/bin:/bin"
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
    """The workload reconciler's preparer for service replicas: a port, just before start."""

    def __init__(self, db: Database, backend: ComputeBackend) -> None:
        self.db = db
        self.backend = backend

    async def prepare(self, workload_id: str, specs: list[TaskSpec]) -> list[TaskSpec]:
        spec = specs[0]
        ip = self.backend.address_of(spec.node)
        port = await self.backend.free_port(spec.node)
        if not await self.db.run_in_transaction(_record_address, workload_id, f"{ip}:{port}"):
            raise PrepareError("the replica left its service before it started")
        command = spec.command
        if command[1:3] == ("-m", SERVER_MODULE):
            command = (*command, "--port", str(port), "--host", ip)
        return [replace(spec, command=command, env={**spec.env, "PORT": str(port)})]


def _record_address(session: Session, workload_id: str, address: str) -> bool:
    replica = session.scalar(
        select(ServiceReplica).where(ServiceReplica.workload_id == workload_id)
    )
    if replica is None:
        return False
    replica.address = address
    return True
