"""Notebook images: presets from the catalog, images a project registers or saves."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.backends.registry_client import ImageFacts
from openarts.db.tables import Image, Notebook, TrainingJob
from openarts.domain.images import ImageStatus, PresetImage, find_preset, preset_images
from openarts.domain.notebooks import NotebookStatus
from openarts.domain.registry import split_reference
from openarts.domain.training import JobPhase
from openarts.errors import OpenArtsError
from openarts.ids import new_uuid, now_ms
from openarts.schemas.images import ImageGroupQuery, ImageListQuery, ImageRegister
from openarts.services.hints import Hint, hint
from openarts.services.paging import count_where

# Services that make an image fit for a notebook.
NOTEBOOK_SERVICE_TYPES = frozenset({"DEV", "COMMON", "UNKNOWN"})


@dataclass(frozen=True, slots=True)
class ImageView:
    """One image as the API shows it, whichever its source."""

    id: str
    name: str
    namespace: str
    tag: str
    swr_path: str
    description: str
    origin: str
    type: str  # BUILD_IN or DEDICATED
    service_type: str
    arch: str
    resource_categories: list[str]
    dev_services: list[str]
    visibility: str
    workspace_id: str
    status: str
    status_message: str
    size_kb: int
    created_at: int
    updated_at: int
    # Whether the platform can run it (a Python environment of its own), and its layers.
    runnable: bool
    layers: list[str]
    preset: PresetImage | None = None


def preset_view(preset: PresetImage) -> ImageView:
    return ImageView(
        id=preset.id,
        name=preset.name,
        namespace="openarts",
        tag=preset.tag,
        swr_path=preset.swr_path,
        description=preset.description,
        origin="CUSTOMIZE",
        type="BUILD_IN",
        service_type="COMMON",
        arch="X86_64",
        resource_categories=["CPU", "GPU"],
        dev_services=["NOTEBOOK"],
        visibility="PUBLIC",
        workspace_id="0",
        status=ImageStatus.ACTIVE,
        status_message="",
        size_kb=0,
        created_at=0,
        updated_at=0,
        runnable=True,
        layers=[],
        preset=preset,
    )


def row_view(row: Image) -> ImageView:
    layers: list[str] = json.loads(row.layers)
    return ImageView(
        id=row.id,
        name=row.name,
        namespace=row.namespace,
        tag=row.tag,
        swr_path=row.swr_path,
        description=row.description,
        origin=row.origin,
        type="DEDICATED",
        service_type=row.service_type,
        arch=row.arch,
        resource_categories=json.loads(row.resource_categories),
        dev_services=json.loads(row.dev_services),
        visibility=row.visibility,
        workspace_id=row.workspace_id,
        status=row.status,
        status_message=row.status_message,
        size_kb=row.size_kb,
        created_at=row.created_at,
        updated_at=row.updated_at,
        runnable=bool(layers),
        layers=layers,
        preset=find_preset(row.base_image_id) if row.base_image_id else None,
    )


def not_found(image_id: str) -> OpenArtsError:
    return OpenArtsError(errors.IMAGE_NOT_FOUND, f"Specified image {image_id} cannot be found.")


async def find_image(session: AsyncSession, project_id: str, image_id: str) -> ImageView:
    preset = find_preset(image_id)
    if preset is not None:
        return preset_view(preset)
    row = await session.get(Image, image_id)
    if row is None or row.project_id != project_id:
        raise not_found(image_id)
    return row_view(row)


async def image_for_url(session: AsyncSession, project_id: str, url: str) -> ImageView | None:
    """The project's image that a container address names, if any: its swr_path, with or
    without a registry host in front (``swr.example.com/ns/name:tag`` names ``ns/name:tag``)."""
    parts = url.split("/")
    candidates = ["/".join(parts[i:]) for i in range(len(parts))]
    rows = (
        await session.scalars(
            select(Image).where(Image.project_id == project_id, Image.swr_path.in_(candidates))
        )
    ).all()
    if not rows:
        return None
    return row_view(max(rows, key=lambda row: len(row.swr_path)))


async def image_at_path(session: AsyncSession, project_id: str, path: str) -> ImageView | None:
    """The project's registered image whose address, after its registry host, is
    ``path`` (``team/x:1`` names ``swr.example.com/team/x:1``); the newest if several."""
    rows = (
        await session.scalars(
            select(Image)
            .where(
                Image.project_id == project_id,
                Image.swr_path.endswith(f"/{path}", autoescape=True),
            )
            .order_by(Image.created_at.desc())
            .limit(1)
        )
    ).all()
    return row_view(rows[0]) if rows else None


async def list_images(
    session: AsyncSession, project_id: str, query: ImageListQuery
) -> tuple[list[ImageView], int]:
    rows = await session.scalars(select(Image).where(Image.project_id == project_id))
    views = [*(preset_view(p) for p in preset_images()), *(row_view(r) for r in rows)]
    chosen = [v for v in views if _matches(v, query)]
    reverse = query.sort_dir == "DESC"
    chosen.sort(key=lambda v: (v.updated_at, v.name), reverse=reverse)
    return chosen[query.offset : query.offset + query.limit], len(chosen)


def _matches(view: ImageView, query: ImageListQuery | ImageGroupQuery) -> bool:
    if query.name is not None:
        if query.name_fuzzy_match and query.name not in view.name:
            return False
        if not query.name_fuzzy_match and query.name != view.name:
            return False
    if query.namespace is not None and query.namespace != view.namespace:
        return False
    if query.type is not None and query.type != view.type:
        return False
    if query.workspace_id is not None and query.workspace_id != view.workspace_id:
        return False
    if isinstance(query, ImageListQuery):
        if query.service_type is not None and query.service_type != view.service_type:
            return False
        if query.show_name is not None and query.show_name not in view.name:
            return False
        if query.show_tag is not None and query.show_tag != view.tag:
            return False
    return True


async def image_groups(
    session: AsyncSession, project_id: str, query: ImageGroupQuery
) -> list[tuple[str, str, list[ImageView]]]:
    """Images grouped by namespace and name (the tags of one image)."""
    rows = await session.scalars(select(Image).where(Image.project_id == project_id))
    views = [*(preset_view(p) for p in preset_images()), *(row_view(r) for r in rows)]
    groups: dict[tuple[str, str], list[ImageView]] = {}
    for view in views:
        if _matches(view, query):
            groups.setdefault((view.namespace, view.name), []).append(view)
    ordered = sorted(groups.items())
    return [(ns, name, items) for (ns, name), items in ordered]


async def register_image(
    session: AsyncSession, project_id: str, body: ImageRegister, facts: ImageFacts | None
) -> ImageView:
    """Record a container image, with its size and architecture when it was found in the
    platform's registry (``facts``); one elsewhere is recorded as given."""
    repository, _, tag = body.swr_path.rpartition(":")
    parts = repository.split("/")
    namespace = parts[1] if len(parts) > 2 else parts[0]
    name = parts[-1]
    now = now_ms()
    row = Image(
        id=new_uuid(),
        project_id=project_id,
        name=name,
        namespace=namespace,
        tag=tag,
        swr_path=body.swr_path,
        description=body.description or "",
        origin=body.origin,
        service_type=body.service_type or "UNKNOWN",
        arch=facts.arch if facts else body.arch,
        resource_categories=json.dumps(body.resource_category or ["CPU", "GPU"]),
        dev_services=json.dumps(body.services or ["NOTEBOOK", "SSH"]),
        visibility=body.visibility,
        workspace_id=body.workspace_id,
        flavor_type=body.flavor_type or "",
        status=ImageStatus.ACTIVE,
        status_message=(
            f"in the platform's registry ({facts.digest})"
            if facts
            else "registered as given: only images of the platform's registry are checked"
        ),
        size_kb=facts.size_bytes // 1024 if facts else 0,
        layers="[]",
        created_at=now,
        updated_at=now,
    )
    await _insert(session, row)
    return row_view(row)


async def _insert(session: AsyncSession, row: Image) -> None:
    clash = await session.scalar(
        select(Image.id).where(
            Image.project_id == row.project_id,
            Image.namespace == row.namespace,
            Image.name == row.name,
            Image.tag == row.tag,
        )
    )
    if clash is None:
        session.add(row)
        try:
            async with session.begin_nested():
                await session.flush()
            return
        except IntegrityError:
            pass
    raise OpenArtsError(
        errors.IMAGE_TAG_CONFLICT,
        f"Conflict tag {row.tag} for image {row.namespace}/{row.name}, tag cannot be duplicated.",
    )


def saved_image_row(
    *,
    project_id: str,
    notebook_id: str,
    namespace: str,
    name: str,
    tag: str,
    description: str,
    workspace_id: str,
    base: ImageView,
) -> Image:
    """The record of an image being saved from an instance (CREATING until its layer is
    copied)."""
    now = now_ms()
    return Image(
        id=new_uuid(),
        project_id=project_id,
        name=name,
        namespace=namespace,
        tag=tag,
        swr_path=f"{namespace}/{name}:{tag}",
        description=description,
        origin="IMAGE_SAVE",
        service_type="COMMON",
        arch=base.arch,
        resource_categories=json.dumps(base.resource_categories),
        dev_services=json.dumps(["NOTEBOOK"]),
        visibility="PRIVATE",
        workspace_id=workspace_id,
        status=ImageStatus.CREATING,
        status_message="saving the packages installed in the instance",
        size_kb=0,
        layers="[]",
        base_image_id=base.preset.id if base.preset is not None else "",
        source_notebook_id=notebook_id,
        created_at=now,
        updated_at=now,
    )


async def insert_saved_image(session: AsyncSession, row: Image) -> None:
    await _insert(session, row)


async def container_reference(session: AsyncSession, project_id: str, image: str) -> str | None:
    """What a container of ``image`` runs: the reference as written when it names its
    registry host, else the whole address of the project's registered image at that path
    (``team/x:1``); None when it is neither. A short name alone never reaches Podman,
    which matches it against every image the node holds, whoever pulled it."""
    if split_reference(image)[0]:
        return image
    registered = await image_at_path(session, project_id, image)
    if registered is None or not split_reference(registered.swr_path)[0]:
        return None
    return registered.swr_path


async def delete_image(session: AsyncSession, project_id: str, image_id: str) -> ImageView:
    if find_preset(image_id) is not None:
        raise OpenArtsError(
            errors.OPERATION_FORBIDDEN, f"Image {image_id} is a preset image: it cannot be deleted."
        )
    row = await session.get(Image, image_id)
    if row is None or row.project_id != project_id:
        raise not_found(image_id)
    if row.status == ImageStatus.CREATING:
        raise OpenArtsError(
            errors.NOTEBOOK_BUSY, f"Image {image_id} is still being saved: delete it after."
        )
    users = await count_where(
        session,
        Notebook,
        Notebook.image_id == image_id,
        Notebook.status != NotebookStatus.DELETING.value,
    )
    if users:
        raise OpenArtsError(
            errors.NOTEBOOK_BUSY,
            f"Image {image_id} is used by {users} notebook instance(s): delete them or "
            "switch their image first.",
        )
    # A job runs a saved image by its ID, a container image by its address (written
    # with or without the registry's host in front).
    path = split_reference(row.swr_path)[1]
    trainings = await count_where(
        session,
        TrainingJob,
        TrainingJob.project_id == project_id,
        TrainingJob.phase.in_([p.value for p in JobPhase if not p.finished]),
        or_(
            TrainingJob.plan.contains(f'"image_id":"{image_id}"', autoescape=True),
            TrainingJob.plan.contains(f'/{path}"', autoescape=True),
            TrainingJob.plan.contains(f'"{path}"', autoescape=True),
        ),
    )
    if trainings:
        raise OpenArtsError(
            errors.NOTEBOOK_BUSY,
            f"Image {image_id} is used by {trainings} training job(s) not yet ended.",
        )
    children = await session.scalar(
        select(Image.swr_path)
        .where(
            Image.project_id == project_id,
            Image.id != image_id,
            Image.layers.contains(f"/{image_id}/", autoescape=True),
        )
        .limit(1)
    )
    if children is not None:
        raise OpenArtsError(
            errors.NOTEBOOK_BUSY,
            f"Image {image_id} is the base of image {children}: delete that image first.",
        )
    view = row_view(row)
    await session.delete(row)
    # The notebook loop removes the packages saved for images that are gone.
    hint(session, Hint.IMAGES)
    return view
