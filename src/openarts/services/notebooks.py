"""Notebook instances: create, read, update, start, stop, delete, lease and save as image.

Every call only records intent (a status such as STARTING, ``desired``) and, where work
must run, queues a workload; the notebook reconciler and the workload reconciler do the
slow part. ``switch_notebook_status`` is the one way a status changes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts import errors
from openarts.db.engine import Database
from openarts.db.tables import Image, Notebook, Project
from openarts.domain.addresses import resolved
from openarts.domain.events import EventType
from openarts.domain.flavors import Flavor, FlavorUse
from openarts.domain.identity import Caller
from openarts.domain.notebooks import (
    ALLOWED_MOVES,
    LEASE_DEFAULT_MS,
    LEASE_MAX_MS,
    LEASE_MIN_MS,
    LIVE,
    PROXY_PREFIX,
    STARTABLE,
    WORKLOAD_KIND,
    NotebookStatus,
    lease_expiry,
    prolonged_duration,
)
from openarts.domain.registry import PLATFORM_NAMESPACE, is_namespace, split_reference
from openarts.errors import OpenArtsError
from openarts.ids import new_uuid, now_ms
from openarts.schemas.notebooks import (
    LeaseReq,
    NotebookCreate,
    NotebookImageSave,
    NotebookListQuery,
    NotebookStartQuery,
    NotebookUpdate,
)
from openarts.security.secrets_box import SecretBox
from openarts.services import authorizations, registry_images
from openarts.services import images as image_service
from openarts.services import workloads as workload_service
from openarts.services.events import record_event_sync
from openarts.services.flavors import FlavorCatalog
from openarts.services.hints import Hint, hint
from openarts.services.paging import Page, count_where, page_of
from openarts.services.transitions import Recorded, transition

S = NotebookStatus
# The fields a list may be sorted on, and their columns.
SORT_COLUMNS = {
    "create_at": Notebook.created_at,
    "created_at": Notebook.created_at,
    "update_at": Notebook.updated_at,
    "name": Notebook.name,
    "status": Notebook.status,
    "flavor": Notebook.flavor,
}


@dataclass(slots=True)
class NotebookPlatform:
    """What the notebook services need of the running server."""

    catalog: FlavorCatalog
    box: SecretBox
    root: Path  # one folder per instance
    image_root: Path  # one folder per saved image
    endpoint: str  # the platform's own address, for ``url``
    lease_time_scale: float = 1.0
    # Why a container image cannot run here; None: it can (its own JupyterLab then
    # serves the instance, in the sandbox over the image's root file system).
    images_unavailable: str | None = "container images are not run here"
    # The platform's registry (host:port), where an instance on a container image is
    # saved as a new image; None: none runs.
    registry_address: str | None = None

    def folder(self, notebook_id: str) -> Path:
        return self.root / notebook_id

    def url(self, notebook_id: str) -> str:
        return f"{self.endpoint}{PROXY_PREFIX}{notebook_id}/lab"

    def lease_expires_at(self, notebook: Notebook) -> int:
        return lease_expiry(
            notebook.lease_started_at, notebook.lease_duration, self.lease_time_scale
        )


def not_found(notebook_id: str) -> OpenArtsError:
    return OpenArtsError(
        errors.NOTEBOOK_NOT_FOUND, f"The instance does not exist: {notebook_id} not found."
    )


def bad(message: str) -> OpenArtsError:
    return OpenArtsError(errors.NOTEBOOK_BAD_VALUE, message)


# -- creating -------------------------------------------------------------------------------
async def create_notebook(
    session: AsyncSession, platform: NotebookPlatform, caller: Caller, body: NotebookCreate
) -> Notebook:
    await authorizations.require_authorization(
        session, project_id=caller.project_id, user_id=caller.user_id
    )
    flavor = _notebook_flavor(platform.catalog, body.flavor)
    image = await _notebook_image(session, platform, caller.project_id, body.image_id)
    lease = _checked_lease(body.effective_lease(), default=LEASE_DEFAULT_MS)
    if body.volume.ownership == "DEDICATED":
        raise bad(
            "volume ownership DEDICATED (a user-owned file system) is not supported here: "
            "use MANAGED; the instance's volume is a folder the platform keeps"
        )
    if body.endpoints and any(e.service == "SSH" for e in body.endpoints):
        raise bad("endpoints service SSH is not supported here: only NOTEBOOK (Jupyter)")
    if body.hooks is not None and body.hooks.container_hooks is not None:
        raise bad(
            "hooks (start-up scripts) are not supported here yet: start the instance "
            "without them and run the script from a terminal"
        )
    if body.feature == "DEFAULT":
        await _one_free_instance(session, caller)
    now = now_ms()
    capacity = body.volume.capacity or (5 if body.volume.category == "EVS" else 50)
    notebook = Notebook(
        id=new_uuid(),
        project_id=caller.project_id,
        name=body.name,
        description=body.description or "",
        feature=body.feature,
        workspace_id=body.workspace_id,
        user_id=caller.user_id,
        user_name=caller.user_name,
        flavor=flavor.name,
        image_id=image.id,
        pool_id=body.pool_id or "",
        volume=json.dumps(
            {
                "category": body.volume.category,
                "ownership": body.volume.ownership,
                "capacity": capacity,
            }
        ),
        endpoints=json.dumps([{"service": "NOTEBOOK"}]),
        hooks=body.hooks.model_dump_json(exclude_none=True) if body.hooks else "{}",
        token=platform.box.encrypt(str(uuid.uuid4())),
        status=S.CREATING.value,
        reason="",
        desired="run",
        lease_type=lease.type,
        lease_enabled=True,
        lease_duration=lease.duration or LEASE_DEFAULT_MS,
        lease_started_at=now,
        lease_updated_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(notebook)
    await session.flush()
    await session.run_sync(_queue, notebook.id, platform, flavor, "Creating")
    hint(session, Hint.WORKLOADS, Hint.NOTEBOOKS)
    return notebook


async def _one_free_instance(session: AsyncSession, caller: Caller) -> None:
    existing = await count_where(
        session,
        Notebook,
        Notebook.project_id == caller.project_id,
        Notebook.user_id == caller.user_id,
        Notebook.feature == "DEFAULT",
    )
    if existing:
        raise OpenArtsError(
            "ModelArts.6302",
            "The instance count already reaches the maximum value: only one free (DEFAULT) "
            "instance per user.",
        )


def _notebook_flavor(catalog: FlavorCatalog, name: str) -> Flavor:
    flavor = catalog.get(name)
    if flavor is None or not flavor.serves(FlavorUse.NOTEBOOK):
        names = ", ".join(f.name for f in catalog.for_use(FlavorUse.NOTEBOOK))
        raise OpenArtsError(
            errors.NOTEBOOK_FLAVOR_UNSUPPORTED,
            f"The flavor is not supported, please check it: {name} is not a notebook flavor "
            f"(GET /v1/{{project_id}}/notebooks/flavors lists them: {names}).",
        )
    reason = catalog.unusable_reason(flavor)
    if reason is not None:
        raise OpenArtsError(
            errors.NOTEBOOK_FLAVOR_SOLD_OUT, f"This flavor specification is sold out: {reason}."
        )
    return flavor


async def _notebook_image(
    session: AsyncSession, platform: NotebookPlatform, project_id: str, image_id: str
) -> image_service.ImageView:
    image = await image_service.find_image(session, project_id, image_id)
    if "NOTEBOOK" not in image.dev_services or image.service_type not in (
        image_service.NOTEBOOK_SERVICE_TYPES
    ):
        raise bad(
            f"image {image_id} ({image.swr_path}) is not made for notebooks: its service "
            f"type is {image.service_type} and it offers {', '.join(image.dev_services)}"
        )
    if image.status != "ACTIVE":
        raise bad(f"image {image_id} is {image.status}: only an ACTIVE image can be used")
    if not image.runnable and platform.images_unavailable is not None:
        raise bad(
            f"image {image_id} is a container image ({image.swr_path}): "
            f"{platform.images_unavailable}; use a preset image or one saved from an instance"
        )
    if not image.runnable and not split_reference(image.swr_path)[0]:
        raise bad(f"image {image_id}'s swr_path {image.swr_path} names no registry host")
    return image


def _checked_lease(lease: LeaseReq, *, default: int) -> LeaseReq:
    duration = lease.duration if lease.duration is not None else default
    if not LEASE_MIN_MS <= duration <= LEASE_MAX_MS:
        raise OpenArtsError(
            errors.NOTEBOOK_LEASE_RANGE,
            f"The 'duration' parameter is incorrect. The value ranges from {LEASE_MIN_MS} to "
            f"{LEASE_MAX_MS} (ms); got {duration}.",
        )
    if lease.type != "TIMING":
        raise bad(
            f"lease type {lease.type} is not supported here: only TIMING (stop when the "
            "duration runs out)"
        )
    return LeaseReq(duration=duration, type=lease.type)


def _queue(
    session: Session, notebook_id: str, platform: NotebookPlatform, flavor: Flavor, verb: str
) -> None:
    """Queue the instance's one task; the preparer completes its command when admitted."""
    notebook = session.get_one(Notebook, notebook_id)
    home = platform.folder(notebook.id) / "home"
    python = platform.folder(notebook.id) / "env" / "bin" / "python"
    template = workload_service.TaskTemplate(
        jupyter_command(str(python), notebook.id),
        str(home / "work"),
        {},
        vcpus=flavor.vcpus,
        memory_bytes=int(flavor.memory_gib * 2**30),
        gpus=flavor.gpu.count if flavor.gpu else 0,
    )
    workload = workload_service.submit_workload_sync(
        session,
        project_id=notebook.project_id,
        kind=WORKLOAD_KIND,
        resource_id=notebook.id,
        tasks=[template],
        pool=notebook.pool_id,
    )
    notebook.workload_id = workload.id
    record_event_sync(
        session,
        project_id=notebook.project_id,
        resource_type=WORKLOAD_KIND,
        resource_name=notebook.name,
        resource_id=notebook.id,
        reason=verb,
        message=f"queued in {notebook.pool_id or 'the public pool'} with flavor {flavor.name}",
        fold=False,
    )


def jupyter_command(python: str, notebook_id: str) -> list[str]:
    """JupyterLab on the loopback of its node, under the instance's own prefix (the port
    is added when the task is placed). The token comes from the environment, never the
    command line, which every local user can read."""
    return [
        python,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--ServerApp.base_url={PROXY_PREFIX}{notebook_id}/",
        # Jupyter listens only on loopback; the platform's proxy is the way in, and users
        # reach it by any host name.
        "--ServerApp.allow_remote_access=True",
        "--ServerApp.port_retries=0",
        "--ServerApp.terminado_settings={'shell_command': ['/bin/bash']}",
    ]


# -- reading --------------------------------------------------------------------------------
async def get_notebook(session: AsyncSession, project_id: str, notebook_id: str) -> Notebook:
    notebook = await session.get(Notebook, notebook_id)
    if notebook is None or notebook.project_id != project_id:
        raise not_found(notebook_id)
    return notebook


async def list_notebooks(
    session: AsyncSession, caller: Caller, query: NotebookListQuery, *, everyone: bool
) -> Page[Notebook]:
    """A page of the project's instances: the caller's own, or with ``everyone`` (or an
    administrator's ``owner``) anyone's."""
    statement: Select[Notebook] = select(Notebook).where(Notebook.project_id == caller.project_id)
    if query.owner is not None and caller.is_admin:
        statement = statement.where(Notebook.user_id == query.owner)
    elif not everyone:
        statement = statement.where(Notebook.user_id == caller.user_id)
    filters: list[Any] = []
    if query.name:
        filters.append(Notebook.name.contains(query.name, autoescape=True))
    if query.status:
        filters.append(Notebook.status == query.status)
    if query.feature:
        filters.append(Notebook.feature == query.feature)
    if query.pool_id:
        filters.append(Notebook.pool_id == query.pool_id)
    if query.flavor:
        filters.append(Notebook.flavor == query.flavor)
    if query.image_id:
        filters.append(Notebook.image_id == query.image_id)
    if query.id:
        filters.append(Notebook.id == query.id)
    if query.workspace_id:
        filters.append(Notebook.workspace_id == query.workspace_id)
    if query.description:
        filters.append(Notebook.description.contains(query.description, autoescape=True))
    statement = statement.where(*filters)
    order: list[Any] = []
    for key in (query.sort_key or "create_at").split(","):
        column = SORT_COLUMNS.get(key.strip())
        if column is None:
            raise OpenArtsError(
                "ModelArts.6303",
                f"The field does not support sorting: {key}; use one of {', '.join(SORT_COLUMNS)}.",
            )
        order.append(column.desc() if query.sort_dir == "DESC" else column.asc())
    order.append(Notebook.id)
    return await page_of(session, statement, order_by=order, offset=query.offset, limit=query.limit)


# -- changing -------------------------------------------------------------------------------
async def update_notebook(
    session: AsyncSession, platform: NotebookPlatform, notebook: Notebook, body: NotebookUpdate
) -> Notebook:
    sent = body.model_fields_set
    status = S(notebook.status)
    if ("flavor" in sent or "image_id" in sent) and status in (
        S.RUNNING,
        S.STARTING,
        S.CREATING,
        S.SNAPSHOTTING,
        S.STOPPING,
    ):
        field_name = "flavor" if "flavor" in sent else "image_id"
        raise OpenArtsError(
            errors.NOTEBOOK_FIELD_LOCKED,
            f"When the instance is in the '{status}' status, the '{field_name}' parameter "
            "cannot be modified: stop it first.",
        )
    if body.flavor is not None and body.flavor != notebook.flavor:
        switchable = {f.name for f in switchable_flavors(platform.catalog, notebook)}
        if body.flavor not in switchable:
            raise OpenArtsError(
                errors.NOTEBOOK_FLAVOR_NOT_SWITCHABLE,
                f"Instance {notebook.id} does not support to update flavor to {body.flavor}; "
                f"GET .../notebooks/{notebook.id}/flavors lists the switchable ones.",
            )
        notebook.flavor = body.flavor
    if body.image_id is not None and body.image_id != notebook.image_id:
        image = await _notebook_image(session, platform, notebook.project_id, body.image_id)
        notebook.image_id = image.id
    if body.name is not None:
        notebook.name = body.name
    if body.description is not None:
        notebook.description = body.description
    if body.endpoints and any(e.service == "SSH" for e in body.endpoints):
        raise bad("endpoints service SSH is not supported here: only NOTEBOOK (Jupyter)")
    if body.hooks is not None and body.hooks.container_hooks is not None:
        raise bad("hooks (start-up scripts) are not supported here yet")
    if body.storage_new_size is not None:
        volume = json.loads(notebook.volume)
        if body.storage_new_size < volume.get("capacity", 0):
            raise bad(
                f"storage_new_size {body.storage_new_size} GB is smaller than the volume's "
                f"{volume.get('capacity')} GB: a volume can only grow"
            )
        volume["capacity"] = body.storage_new_size
        notebook.volume = json.dumps(volume)
    notebook.updated_at = now_ms()
    await session.flush()
    return notebook


def switchable_flavors(catalog: FlavorCatalog, notebook: Notebook) -> list[Flavor]:
    """The notebook flavors this host can run, other than the instance's own, of the same
    kind (CPU to CPU, GPU to GPU) as ModelArts allows."""
    current = catalog.get(notebook.flavor)
    wants_gpu = bool(current and current.gpu)
    return [
        f
        for f in catalog.for_use(FlavorUse.NOTEBOOK)
        if f.name != notebook.flavor
        and bool(f.gpu) == wants_gpu
        and catalog.unusable_reason(f) is None
    ]


async def start_notebook(
    session: AsyncSession, platform: NotebookPlatform, notebook: Notebook, query: NotebookStartQuery
) -> Notebook:
    status = S(notebook.status)
    _refuse_unless(status, STARTABLE, "start")
    flavor = _notebook_flavor(platform.catalog, notebook.flavor)
    await _notebook_image(session, platform, notebook.project_id, notebook.image_id)
    if query.duration is not None or query.type is not None:
        lease = _checked_lease(
            LeaseReq(duration=query.duration, type=query.type or "TIMING"),
            default=notebook.lease_duration,
        )
        notebook.lease_duration = lease.duration or notebook.lease_duration
    now = now_ms()
    notebook.lease_started_at = now
    notebook.lease_updated_at = now
    notebook.desired = "run"
    await session.flush()
    await session.run_sync(_start_sync, notebook, platform, flavor)
    hint(session, Hint.WORKLOADS, Hint.NOTEBOOKS)
    return notebook


def _start_sync(
    session: Session,
    notebook: Notebook,
    platform: NotebookPlatform,
    flavor: Flavor,
) -> None:
    if not switch_notebook_status(session, notebook, S.STARTING, "start requested"):
        raise OpenArtsError(errors.NOTEBOOK_BUSY, _busy_message(notebook.id))
    _queue(session, notebook.id, platform, flavor, "Starting")


async def stop_notebook(session: AsyncSession, notebook: Notebook) -> Notebook:
    status = S(notebook.status)
    if status in (S.STOPPED, S.CREATE_FAILED, S.START_FAILED):
        raise OpenArtsError(errors.NOTEBOOK_STOPPED, "The instance has already been stopped.")
    if status is S.STOPPING:
        raise OpenArtsError(errors.NOTEBOOK_STOPPING, "The instance is stopping.")
    if status is S.SNAPSHOTTING:
        raise OpenArtsError(
            errors.NOTEBOOK_BUSY,
            "The instance is being saved as an image: stop it when the image is saved.",
        )
    if status is S.DELETING:
        raise not_found(notebook.id)
    await session.run_sync(request_stop_sync, notebook, "stop requested")
    hint(session, Hint.WORKLOADS, Hint.NOTEBOOKS)
    return notebook


def request_stop_sync(session: Session, notebook: Notebook, reason: str) -> bool:
    """STOPPING, and the workload told to stop; the reconciler finishes it."""
    if not switch_notebook_status(session, notebook, S.STOPPING, reason):
        return False
    notebook.desired = "stop"
    if notebook.workload_id is not None:
        workload_service.request_stop_sync(session, notebook.workload_id)
    return True


async def delete_notebook(session: AsyncSession, notebook: Notebook) -> Notebook:
    status = S(notebook.status)
    if status is S.SNAPSHOTTING:
        raise OpenArtsError(
            errors.NOTEBOOK_BUSY,
            "The instance is being saved as an image: delete it when the image is saved.",
        )
    if status is S.DELETING:
        return notebook
    await session.run_sync(_delete_sync, notebook)
    hint(session, Hint.WORKLOADS, Hint.NOTEBOOKS)
    return notebook


def _delete_sync(session: Session, notebook: Notebook) -> None:
    if not switch_notebook_status(session, notebook, S.DELETING, "delete requested"):
        raise OpenArtsError(errors.NOTEBOOK_BUSY, _busy_message(notebook.id))
    notebook.desired = "delete"
    if notebook.workload_id is not None:
        workload_service.request_stop_sync(session, notebook.workload_id)


async def _saved_as_container_image(
    session: AsyncSession,
    platform: NotebookPlatform,
    notebook: Notebook,
    body: NotebookImageSave,
    base: image_service.ImageView,
    row: Image,
) -> None:
    """An instance on a container image is saved as a container image in the
    platform's registry, in a namespace of the project's (its name, or its ID where the
    name cannot be one), under the base's registry host."""
    address = platform.registry_address
    if address is None:
        raise bad(
            f"the instance runs container image {base.swr_path}: it is saved as an image in "
            "the platform's registry, and none runs here"
        )
    if registry_images.place_of(address, base.swr_path) is None:
        raise bad(
            f"the instance runs container image {base.swr_path}, which is not in the "
            "platform's registry: only an image there can be extended and pushed back"
        )
    await registry_images.check_owned(
        session, address, notebook.project_id, base.swr_path, "the instance's image"
    )
    project = await session.get(Project, notebook.project_id)
    assert project is not None
    own = project.name if is_namespace(project.name) else project.id
    namespace = body.namespace or (project.id if own == PLATFORM_NAMESPACE else own)
    host = split_reference(base.swr_path)[0]
    row.namespace = namespace
    row.swr_path = f"{host}/{namespace}/{row.name}:{row.tag}"
    await registry_images.check_owned(
        session, address, notebook.project_id, row.swr_path, "namespace"
    )
    row.service_type = base.service_type
    row.dev_services = json.dumps(base.dev_services)
    row.status_message = "saving the instance's home as a layer over its image"


def _refuse_unless(status: NotebookStatus, allowed: frozenset[NotebookStatus], verb: str) -> None:
    if status in allowed:
        return
    code, message = {
        S.RUNNING: (errors.NOTEBOOK_RUNNING, "The instance is already running."),
        S.STARTING: (errors.NOTEBOOK_STARTING, "The instance is starting."),
        S.CREATING: (errors.NOTEBOOK_STARTING, "The instance is starting (being created)."),
        S.STOPPING: (errors.NOTEBOOK_STOPPING, "The instance is stopping."),
        S.SNAPSHOTTING: (
            errors.NOTEBOOK_BUSY,
            "The instance is being saved as an image; try again when it is saved.",
        ),
    }.get(status, (errors.NOTEBOOK_BUSY, f"The instance is {status}: it cannot {verb}."))
    raise OpenArtsError(code, message)


def _busy_message(notebook_id: str) -> str:
    return (
        f"The operation is not allowed because another operation is being performed on "
        f"instance {notebook_id}; refresh and try again."
    )


# -- the lease ------------------------------------------------------------------------------
async def prolong_lease(
    session: AsyncSession, platform: NotebookPlatform, notebook: Notebook, lease: LeaseReq
) -> Notebook:
    if notebook.status != S.RUNNING:
        raise OpenArtsError(
            errors.NOTEBOOK_NOT_RUNNING,
            f"The instance is not in running ({notebook.status}): a lease is prolonged only "
            "while it runs.",
        )
    checked = _checked_lease(lease, default=LEASE_DEFAULT_MS)
    now = now_ms()
    duration = prolonged_duration(
        notebook.lease_started_at, now, checked.duration or 0, platform.lease_time_scale
    )
    notebook.lease_duration = duration
    notebook.lease_updated_at = now
    notebook.updated_at = now
    await session.flush()
    # The notebook loop times the lease's end anew.
    hint(session, Hint.NOTEBOOKS)
    return notebook


# -- saving as an image ---------------------------------------------------------------------
async def save_as_image(
    session: AsyncSession, platform: NotebookPlatform, notebook: Notebook, body: NotebookImageSave
) -> Image:
    if notebook.status != S.RUNNING:
        raise OpenArtsError(
            errors.NOTEBOOK_NOT_RUNNING,
            f"The instance is not in running ({notebook.status}): only a running instance "
            "can be saved as an image.",
        )
    base = await image_service.find_image(session, notebook.project_id, notebook.image_id)
    name = body.name or f"{notebook.name.lower().replace('_', '-')}"
    row = image_service.saved_image_row(
        project_id=notebook.project_id,
        notebook_id=notebook.id,
        namespace=body.namespace or "openarts-saved",
        name=name,
        tag=body.tag or f"v{now_ms()}",
        description=body.description or f"saved from notebook {notebook.name}",
        workspace_id=body.workspace_id or notebook.workspace_id,
        base=base,
    )
    if not base.runnable:
        await _saved_as_container_image(session, platform, notebook, body, base, row)
    await image_service.insert_saved_image(session, row)
    moved = await session.run_sync(
        switch_notebook_status, notebook, S.SNAPSHOTTING, f"saving as image {row.swr_path}"
    )
    if not moved:
        raise OpenArtsError(errors.NOTEBOOK_BUSY, _busy_message(notebook.id))
    hint(session, Hint.NOTEBOOKS)
    return row


# -- the one status switch ------------------------------------------------------------------
def switch_notebook_status(
    session: Session,
    notebook: Notebook,
    to: NotebookStatus,
    reason: str,
    *,
    event_type: EventType = EventType.NORMAL,
) -> bool:
    """Compare-and-set the instance's status, with an event; False if it moved meanwhile."""
    return transition(
        session,
        notebook,
        to,
        ALLOWED_MOVES,
        kind="notebook",
        values={"reason": reason, "updated_at": now_ms()},
        event=Recorded(
            project_id=notebook.project_id,
            resource_type=WORKLOAD_KIND,
            resource_name=notebook.name,
            resource_id=notebook.id,
            reason=f"Notebook{to.value.title().replace('_', '')}",
            message=reason or to.value,
            type=event_type,
        ),
    )


# -- the proxy's lookup -----------------------------------------------------------------------
async def jupyter_address(db: Database, notebook_id: str, root: Path) -> str:
    """Where the instance's Jupyter listens, for the proxy ("host:port", or a Unix
    socket's absolute path; instances' folders are under ``root``); an error when it
    cannot be reached through the platform now."""
    async with db.session() as session:
        row = (
            await session.execute(
                select(Notebook.status, Notebook.address).where(Notebook.id == notebook_id)
            )
        ).first()
    if row is None:
        raise not_found(notebook_id)
    status, address = row
    if S(status) not in LIVE or not address:
        raise OpenArtsError(
            errors.NOTEBOOK_NOT_RUNNING,
            f"The instance is not in running ({status}): start it, then open it again.",
        )
    return resolved(str(address), root / notebook_id)
