"""DevEnviron images (v1): list, group, register, show, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request

from openarts.api.deps import CallerDep, SessionDep, parts_of
from openarts.api.notebook_views import group_out, image_out, page_numbers
from openarts.schemas.common import ERROR_RESPONSES
from openarts.schemas.images import (
    ImageDeleteBody,
    ImageDeleteQuery,
    ImageGroupPage,
    ImageGroupQuery,
    ImageListQuery,
    ImageOut,
    ImagePage,
    ImageRegister,
)
from openarts.services import images as service
from openarts.services import registry_images

router = APIRouter(prefix="/v1/{project_id}", tags=["DevEnviron"], responses=ERROR_RESPONSES)


@router.get(
    "/images", response_model=ImagePage, summary="List images", response_model_exclude_none=True
)
async def list_images(
    query: Annotated[ImageListQuery, Query()], caller: CallerDep, session: SessionDep
) -> ImagePage:
    views, total = await service.list_images(session, caller.project_id, query)
    current, pages = page_numbers(query.offset, query.limit, total)
    data = [image_out(v) for v in views]
    return ImagePage(current=current, data=data, pages=pages, size=len(data), total=total)


@router.post(
    "/images",
    response_model=ImageOut,
    summary="Register a custom image",
    response_model_exclude_none=True,
)
async def register_image(
    body: ImageRegister, caller: CallerDep, session: SessionDep, request: Request
) -> ImageOut:
    parts = parts_of(request)
    # Asked of the registry before the session's first statement: no transaction waits
    # on the network.
    facts = await registry_images.registered_facts(
        parts.db, parts.image_registry, caller.project_id, body.swr_path
    )
    return image_out(await service.register_image(session, caller.project_id, body, facts))


@router.get(
    "/images/group",
    response_model=ImageGroupPage,
    summary="List image groups",
    response_model_exclude_none=True,
)
async def image_groups(
    query: Annotated[ImageGroupQuery, Query()], caller: CallerDep, session: SessionDep
) -> ImageGroupPage:
    groups = await service.image_groups(session, caller.project_id, query)
    chosen = groups[query.offset : query.offset + query.limit]
    data = [group_out(ns, name, images) for ns, name, images in chosen]
    current, pages = page_numbers(query.offset, query.limit, len(groups))
    return ImageGroupPage(
        current=current, data=data, pages=pages, size=len(data), total=len(groups)
    )


@router.get(
    "/images/{id}",
    response_model=ImageOut,
    summary="Show an image",
    response_model_exclude_none=True,
)
async def show_image(id: str, caller: CallerDep, session: SessionDep) -> ImageOut:
    return image_out(await service.find_image(session, caller.project_id, id))


@router.delete(
    "/images/{id}",
    response_model=ImageOut,
    summary="Delete an image",
    response_model_exclude_none=True,
)
async def delete_image(
    id: str,
    query: Annotated[ImageDeleteQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
    background: BackgroundTasks,
    request: Request,
    body: ImageDeleteBody | None = None,
) -> ImageOut:
    parts = parts_of(request)
    content = None
    if query.force or (body is not None and body.is_force):
        # force also deletes the content from the platform's registry (private images
        # only, as the reference says): checked before the record goes, deleted once
        # its removal has committed (no transaction waits on the registry).
        async with parts.db.session() as reading:
            image = await service.find_image(reading, caller.project_id, id)
        if image.visibility == "PRIVATE":
            content = await registry_images.content_of(
                parts.db, parts.image_registry, caller.project_id, image.swr_path
            )
    view = await service.delete_image(session, caller.project_id, id)
    if content is not None and parts.image_registry is not None:
        background.add_task(registry_images.remove_logged, parts.image_registry, content)
    return image_out(view)
