"""DevEnviron notebook instances (v1): create, list, show, update, delete, start, stop,
their lease, their flavors, saving one as an image, and object storage mounted into one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.api.deps import CallerDep, CatalogDep, NotebooksDep, SessionDep, StoreDep
from openarts.api.notebook_views import (
    flavor_out,
    image_out,
    lease_out,
    notebook_out,
    page_numbers,
    storage_out,
)
from openarts.db.tables import Notebook
from openarts.domain.flavors import Flavor, FlavorUse
from openarts.domain.notebooks import WORKLOAD_KIND
from openarts.domain.notebooks import NotebookStatus as S
from openarts.errors import OpenArtsError
from openarts.schemas.common import ERROR_RESPONSES
from openarts.schemas.images import ImageOut
from openarts.schemas.notebooks import (
    LeaseOut,
    LeaseQuery,
    LeaseReq,
    LeaseUpdate,
    NotebookCreate,
    NotebookFlavorPage,
    NotebookFlavorQuery,
    NotebookImageSave,
    NotebookListQuery,
    NotebookOut,
    NotebookPage,
    NotebookStartQuery,
    NotebookUpdate,
    StorageMount,
    StorageOut,
    StoragePage,
    SwitchableFlavorQuery,
)
from openarts.services import events
from openarts.services import images as image_service
from openarts.services import notebook_mounts as mount_service
from openarts.services import notebooks as service
from openarts.services import workloads as workload_service
from openarts.services.flavors import FlavorCatalog
from openarts.services.images import ImageView
from openarts.services.notebooks import NotebookPlatform

router = APIRouter(prefix="/v1/{project_id}", tags=["DevEnviron"], responses=ERROR_RESPONSES)


# A start's steps its events tell (pulling the image, preparing the environment).
START_STEPS = ("ImagePulling", "ImagePulled", "ImagePreparing")
STARTING_STATUSES = (S.CREATING.value, S.STARTING.value)


async def _out(
    session: AsyncSession,
    notebook: Notebook,
    notebooks: NotebookPlatform,
    waiting: dict[str, str] | None = None,
) -> NotebookOut:
    """The instance as answered; ``waiting``: its workload's reason to wait, when read
    already for a whole page."""
    image: ImageView | None
    try:
        image = await image_service.find_image(session, notebook.project_id, notebook.image_id)
    except OpenArtsError:
        image = None  # deleted meanwhile: the instance still shows
    if waiting is None:
        waiting = await workload_service.waiting_reasons(session, [notebook.workload_id])
    reason = waiting.get(notebook.workload_id or "")
    doing = None
    if not reason and notebook.status in STARTING_STATUSES:
        doing = await events.latest_message(
            session,
            project_id=notebook.project_id,
            resource_type=WORKLOAD_KIND,
            resource_name=notebook.name,
            resource_id=notebook.id,
            reasons=START_STEPS,
            since_ms=notebook.updated_at,
        )
    return notebook_out(notebook, image, notebooks, reason or None, doing)


@router.post(
    "/notebooks",
    response_model=NotebookOut,
    summary="Create a notebook instance",
    response_model_exclude_none=True,
)
async def create_notebook(
    body: NotebookCreate,
    caller: CallerDep,
    session: SessionDep,
    notebooks: NotebooksDep,
) -> NotebookOut:
    notebook = await service.create_notebook(session, notebooks, caller, body)
    return await _out(session, notebook, notebooks)


@router.get("/notebooks", response_model=NotebookPage, summary="List your notebook instances")
async def list_notebooks(
    query: Annotated[NotebookListQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
    notebooks: NotebooksDep,
) -> NotebookPage:
    return await _page(session, caller, query, notebooks, everyone=False)


@router.get("/notebooks/all", response_model=NotebookPage, summary="List every notebook instance")
async def list_all_notebooks(
    query: Annotated[NotebookListQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
    notebooks: NotebooksDep,
) -> NotebookPage:
    return await _page(session, caller, query, notebooks, everyone=True)


async def _page(
    session: AsyncSession,
    caller: CallerDep,
    query: NotebookListQuery,
    notebooks: NotebooksDep,
    *,
    everyone: bool,
) -> NotebookPage:
    page = await service.list_notebooks(session, caller, query, everyone=everyone)
    rows, total = page.items, page.total
    current, pages = page_numbers(query.offset, query.limit, total)
    # Why each waits, for the whole page at once.
    waiting = await workload_service.waiting_reasons(session, [row.workload_id for row in rows])
    data = [await _out(session, row, notebooks, waiting) for row in rows]
    return NotebookPage(current=current, data=data, pages=pages, size=len(data), total=total)


@router.get(
    "/notebooks/flavors",
    response_model=NotebookFlavorPage,
    summary="List the flavors notebook instances can use",
    response_model_exclude_none=True,
)
async def list_notebook_flavors(
    query: Annotated[NotebookFlavorQuery, Query()], caller: CallerDep, catalog: CatalogDep
) -> NotebookFlavorPage:
    flavors = [
        f
        for f in catalog.for_use(FlavorUse.NOTEBOOK)
        if (query.category is None or query.category == ("GPU" if f.gpu else "CPU"))
        and (query.feature is None or query.feature == ("DEFAULT" if f.free else "NOTEBOOK"))
    ]
    return _flavor_page(catalog, flavors, query.offset, query.limit, switchable=False)


def _flavor_page(
    catalog: FlavorCatalog,
    flavors: list[Flavor],
    offset: int,
    limit: int | None,
    *,
    switchable: bool,
) -> NotebookFlavorPage:
    chosen = flavors[offset : offset + limit if limit is not None else None]
    data = [flavor_out(catalog, f) for f in chosen]
    current, pages = page_numbers(offset, limit or max(len(flavors), 1), len(flavors))
    return NotebookFlavorPage(
        current=current,
        data=data,
        pages=pages,
        size=len(data),
        total=len(flavors),
        flavors=data if switchable else None,
    )


@router.get(
    "/notebooks/{id}",
    response_model=NotebookOut,
    summary="Show a notebook",
    response_model_exclude_none=True,
)
async def show_notebook(
    id: str, caller: CallerDep, session: SessionDep, notebooks: NotebooksDep
) -> NotebookOut:
    notebook = await service.get_notebook(session, caller.project_id, id)
    return await _out(session, notebook, notebooks)


@router.put(
    "/notebooks/{id}",
    response_model=NotebookOut,
    summary="Update a notebook",
    response_model_exclude_none=True,
)
async def update_notebook(
    id: str, body: NotebookUpdate, caller: CallerDep, session: SessionDep, notebooks: NotebooksDep
) -> NotebookOut:
    notebook = await service.get_notebook(session, caller.project_id, id)
    notebook = await service.update_notebook(session, notebooks, notebook, body)
    return await _out(session, notebook, notebooks)


@router.delete(
    "/notebooks/{id}",
    response_model=NotebookOut,
    summary="Delete a notebook",
    response_model_exclude_none=True,
)
async def delete_notebook(
    id: str, caller: CallerDep, session: SessionDep, notebooks: NotebooksDep
) -> NotebookOut:
    notebook = await service.get_notebook(session, caller.project_id, id)
    notebook = await service.delete_notebook(session, notebook)
    return await _out(session, notebook, notebooks)


@router.post(
    "/notebooks/{id}/start",
    response_model=NotebookOut,
    summary="Start a notebook",
    response_model_exclude_none=True,
)
async def start_notebook(
    id: str,
    query: Annotated[NotebookStartQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
    notebooks: NotebooksDep,
) -> NotebookOut:
    notebook = await service.get_notebook(session, caller.project_id, id)
    notebook = await service.start_notebook(session, notebooks, notebook, query)
    return await _out(session, notebook, notebooks)


@router.post(
    "/notebooks/{id}/stop",
    response_model=NotebookOut,
    summary="Stop a notebook",
    response_model_exclude_none=True,
)
async def stop_notebook(
    id: str, caller: CallerDep, session: SessionDep, notebooks: NotebooksDep
) -> NotebookOut:
    notebook = await service.get_notebook(session, caller.project_id, id)
    notebook = await service.stop_notebook(session, notebook)
    return await _out(session, notebook, notebooks)


@router.get(
    "/notebooks/{id}/flavors",
    response_model=NotebookFlavorPage,
    summary="List the flavors a notebook can switch to",
    response_model_exclude_none=True,
)
async def switchable_flavors(
    id: str,
    query: Annotated[SwitchableFlavorQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
    catalog: CatalogDep,
) -> NotebookFlavorPage:
    notebook = await service.get_notebook(session, caller.project_id, id)
    flavors = service.switchable_flavors(catalog, notebook)
    return _flavor_page(catalog, flavors, query.offset, query.limit, switchable=True)


@router.get("/notebooks/{id}/lease", response_model=LeaseOut, summary="Show a notebook's lease")
async def show_lease(id: str, caller: CallerDep, session: SessionDep) -> LeaseOut:
    return lease_out(await service.get_notebook(session, caller.project_id, id))


@router.patch(
    "/notebooks/{id}/lease", response_model=LeaseOut, summary="Prolong a notebook's lease"
)
async def prolong_lease(
    id: str,
    query: Annotated[LeaseQuery, Query()],
    caller: CallerDep,
    session: SessionDep,
    notebooks: NotebooksDep,
    body: LeaseUpdate | None = None,
) -> LeaseOut:
    notebook = await service.get_notebook(session, caller.project_id, id)
    lease = (
        LeaseReq(duration=query.duration, type="TIMING")
        if query.duration is not None
        else LeaseReq(duration=body.duration, type=body.type)
        if body is not None
        else LeaseReq()
    )
    notebook = await service.prolong_lease(session, notebooks, notebook, lease)
    return lease_out(notebook)


@router.post(
    "/notebooks/{id}/create-image",
    response_model=ImageOut,
    summary="Save a running notebook as an image",
    response_model_exclude_none=True,
)
async def save_as_image(
    id: str,
    caller: CallerDep,
    session: SessionDep,
    notebooks: NotebooksDep,
    body: NotebookImageSave | None = None,
) -> ImageOut:
    notebook = await service.get_notebook(session, caller.project_id, id)
    row = await service.save_as_image(session, notebooks, notebook, body or NotebookImageSave())
    return image_out(image_service.row_view(row))


@router.post(
    "/notebooks/{instance_id}/storage",
    response_model=StorageOut,
    summary="Mount object storage into a running notebook",
    response_model_exclude_none=True,
)
async def mount_storage(
    instance_id: str,
    body: StorageMount,
    caller: CallerDep,
    session: SessionDep,
    store: StoreDep,
) -> StorageOut:
    exists = await mount_service.source_exists(store, body)
    notebook = await service.get_notebook(session, caller.project_id, instance_id)
    row = await mount_service.mount(session, notebook, body, exists=exists)
    return storage_out(row)


@router.get(
    "/notebooks/{instance_id}/storage",
    response_model=StoragePage,
    summary="List the storage mounted into a notebook",
    response_model_exclude_none=True,
)
async def list_storage(instance_id: str, caller: CallerDep, session: SessionDep) -> StoragePage:
    notebook = await service.get_notebook(session, caller.project_id, instance_id)
    rows = await mount_service.list_mounts(session, notebook)
    data = [storage_out(r) for r in rows]
    return StoragePage(
        current=0, data=data, pages=1 if data else 0, size=len(data), total=len(data)
    )


@router.get(
    "/notebooks/{instance_id}/storage/{storage_id}",
    response_model=StorageOut,
    summary="Show one storage mount of a notebook",
    response_model_exclude_none=True,
)
async def show_storage(
    instance_id: str, storage_id: str, caller: CallerDep, session: SessionDep
) -> StorageOut:
    notebook = await service.get_notebook(session, caller.project_id, instance_id)
    return storage_out(await mount_service.get_mount(session, notebook, storage_id))


@router.delete(
    "/notebooks/{instance_id}/storage/{storage_id}",
    response_model=StorageOut,
    summary="Unmount object storage from a notebook",
    response_model_exclude_none=True,
)
async def unmount_storage(
    instance_id: str,
    storage_id: str,
    caller: CallerDep,
    session: SessionDep,
) -> StorageOut:
    notebook = await service.get_notebook(session, caller.project_id, instance_id)
    row = await mount_service.unmount(session, notebook, storage_id)
    return storage_out(row)
