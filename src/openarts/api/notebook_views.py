"""From stored notebooks, images and mounts to their wire shapes."""

from __future__ import annotations

import json
import math

from openarts.db.tables import Notebook, NotebookMount
from openarts.domain.flavors import Flavor
from openarts.domain.notebooks import WORK_MOUNT_PATH
from openarts.domain.notebooks import NotebookStatus as S
from openarts.schemas.images import ImageGroupOut, ImageOut
from openarts.schemas.notebooks import (
    DomainOut,
    EndpointOut,
    GpuInfoOut,
    JobProgressOut,
    LeaseOut,
    NotebookFlavorOut,
    NotebookOut,
    PoolOut,
    StorageOut,
    UserOut,
    VolumeOut,
)
from openarts.services.flavors import FlavorCatalog
from openarts.services.images import ImageView
from openarts.services.notebooks import NotebookPlatform

_STEPS = (
    (1, "Prepare storage"),
    (2, "Prepare compute resources"),
    (3, "Configure the network"),
    (4, "Initialize the instance"),
)


def image_out(view: ImageView) -> ImageOut:
    return ImageOut(
        arch=view.arch.lower(),
        create_at=view.created_at,
        description=view.description,
        dev_services=view.dev_services,
        id=view.id,
        name=view.name,
        namespace=view.namespace,
        origin=view.origin,
        resource_categories=view.resource_categories,
        support_res_categories=view.resource_categories,
        service_type=view.service_type,
        size=view.size_kb,
        status=view.status,
        status_message=view.status_message,
        swr_path=view.swr_path,
        tag=view.tag,
        type=view.type,
        update_at=view.updated_at,
        visibility=view.visibility,
        workspace_id=view.workspace_id,
    )


def group_out(namespace: str, name: str, images: list[ImageView]) -> ImageGroupOut:
    return ImageGroupOut(
        name=name,
        namespace=namespace,
        create_at=min(i.created_at for i in images),
        update_at=max(i.updated_at for i in images),
        version_count=len(images),
        description=images[0].description,
    )


def lease_out(notebook: Notebook) -> LeaseOut:
    return LeaseOut(
        create_at=notebook.lease_started_at,
        duration=notebook.lease_duration,
        enable=notebook.lease_enabled,
        type=notebook.lease_type,
        update_at=notebook.lease_updated_at,
    )


def notebook_out(
    notebook: Notebook,
    image: ImageView | None,
    platform: NotebookPlatform,
    waiting: str | None = None,
    doing: str | None = None,
) -> NotebookOut:
    """The instance as the API shows it; ``waiting``: why it waits for compute, while it
    does (None once it holds its share); ``doing``: what its start does now (pulling
    its image, preparing its environment)."""
    volume = json.loads(notebook.volume)
    status = S(notebook.status)
    return NotebookOut(
        id=notebook.id,
        name=notebook.name,
        description=notebook.description,
        status=status.value,
        fail_reason=notebook.reason
        if status in (S.CREATE_FAILED, S.START_FAILED, S.ERROR)
        else None,
        flavor=notebook.flavor,
        feature=notebook.feature,
        workspace_id=notebook.workspace_id,
        image=image_out(image) if image is not None else ImageOut(id=notebook.image_id),
        lease=lease_out(notebook),
        pool=PoolOut(id=notebook.pool_id, name=notebook.pool_id) if notebook.pool_id else None,
        token=platform.box.decrypt(notebook.token),
        url=platform.url(notebook.id),
        volume=VolumeOut(
            capacity=volume.get("capacity"),
            category=volume.get("category"),
            ownership=volume.get("ownership"),
            mount_path=WORK_MOUNT_PATH,
        ),
        endpoints=[EndpointOut(service="NOTEBOOK", dev_service="NOTEBOOK")],
        action_progress=_progress(notebook.id, status, waiting, doing),
        billing_items=["STORAGE", "COMPUTE"],
        user=UserOut(id=notebook.user_id, name=notebook.user_name, domain=DomainOut()),
        user_id=notebook.user_id,
        create_at=notebook.created_at,
        update_at=notebook.updated_at,
    )


def _progress(
    notebook_id: str, status: S, waiting: str | None, doing: str | None = None
) -> list[JobProgressOut] | None:
    """The steps of a start. Storage and network are ready at once here; compute waits
    for the pool to admit the instance (``waiting``: why it waits, None once it holds
    its share), then the instance initialises until Jupyter answers. No step says it is
    done before it is."""
    if status not in (S.CREATING, S.STARTING, S.CREATE_FAILED, S.START_FAILED):
        return None
    if status in (S.CREATE_FAILED, S.START_FAILED):
        # The step it failed at: compute, if it never got there.
        current, state = (2 if waiting is not None else 4), "FAILED"
    else:
        current, state = (2 if waiting is not None else 4), "PROCESSING"
    steps = []
    for step, text in _STEPS:
        said = text
        if step < current or (step == 3 and current > 3):
            done = "COMPLETED"
        elif step == current:
            done = state
            if step == 2 and waiting:
                said = f"{text}: {waiting}"
            if step == 4 and doing and state == "PROCESSING":
                said = f"{text}: {doing}"
        else:
            done = "WAITING"
        steps.append(
            JobProgressOut(
                notebook_id=notebook_id,
                step=step,
                step_description=said,
                description=said,
                status=done,
            )
        )
    return steps


def flavor_out(catalog: FlavorCatalog, flavor: Flavor) -> NotebookFlavorOut:
    return NotebookFlavorOut(
        id=flavor.name,
        name=flavor.name,
        arch=catalog.arch_of(flavor).lower(),
        category="GPU" if flavor.gpu else "CPU",
        description=f"{flavor.vcpus:g} vCPUs, {flavor.memory_gib:g} GiB"
        + (f", {flavor.gpu.count} x {flavor.gpu.type}" if flavor.gpu else ""),
        feature="DEFAULT" if flavor.free else "NOTEBOOK",
        free=flavor.free,
        gpu=GpuInfoOut(
            gpu=flavor.gpu.count, gpu_memory=f"{flavor.gpu.memory_gib}GB", type=flavor.gpu.type
        )
        if flavor.gpu
        else None,
        memory=int(flavor.memory_gib * 1024 * 1024),
        sold_out=catalog.unusable_reason(flavor) is not None,
        storages=["EVS", "EFS"],
        vcpus=math.ceil(flavor.vcpus),
    )


def storage_out(mount: NotebookMount) -> StorageOut:
    return StorageOut(
        id=mount.id,
        category=mount.category,
        mount_path=mount.mount_path,
        status=mount.status,
        uri=mount.uri,
        failure_reason=mount.reason or None,
        mount_type="DYNAMIC",
    )


def page_numbers(offset: int, limit: int, total: int) -> tuple[int, int]:
    """(current page, page count) as the DevEnviron lists count them (from 0)."""
    return offset // max(limit, 1), math.ceil(total / max(limit, 1))
