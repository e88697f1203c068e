"""Object storage mounted into a running notebook instance (MOUNTING until the
reconciler has put it in place under the instance's data/ folder)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.db.tables import Notebook, NotebookMount
from openarts.domain.notebooks import NotebookStatus as S
from openarts.errors import OpenArtsError
from openarts.ids import new_uuid, now_ms
from openarts.schemas.notebooks import StorageMount
from openarts.services import buckets
from openarts.services.hints import Hint, hint
from openarts.storage.base import NoSuchBucket, ObjectStore, StorageError
from openarts.storage.paths import InvalidPath, ObjectPath

# Mounts per instance (the cloud allows a handful).
MAX_MOUNTS = 10


async def source_exists(store: ObjectStore, body: StorageMount) -> bool:
    """Whether the path to mount holds anything; asked before any database work, since
    the store may be across the network."""
    try:
        source = ObjectPath.parse(body.uri or "")
    except InvalidPath:
        return False
    return await _folder_exists(store, source)


async def mount(
    session: AsyncSession, notebook: Notebook, body: StorageMount, *, exists: bool
) -> NotebookMount:
    if notebook.status != S.RUNNING:
        raise OpenArtsError(
            errors.NOTEBOOK_NOT_RUNNING,
            f"The instance is not in running ({notebook.status}): storage is mounted only "
            "into a running instance.",
        )
    if body.category != "OBS":
        raise OpenArtsError(
            errors.NOTEBOOK_STORAGE_TYPE,
            f"This location type is not supported: {body.category}; only OBS here.",
        )
    if not body.uri:
        raise OpenArtsError("ModelArts.6335", "'uri' is a required property.")
    if not body.mount_path:
        raise OpenArtsError("ModelArts.6335", "'mount_path' is a required property.")
    try:
        source = ObjectPath.parse(body.uri)
    except InvalidPath as error:
        raise OpenArtsError(errors.NOTEBOOK_BAD_VALUE, f"uri {body.uri}: {error}") from None
    if not source.key.strip("/"):
        raise OpenArtsError(
            errors.NOTEBOOK_OBS_ROOT,
            "The path parameter is incorrect. It cannot be the root directory of an OBS "
            f"bucket ({body.uri}), but must be a specific directory in the bucket.",
        )
    if not body.uri.endswith("/"):
        raise OpenArtsError("ModelArts.6318", f"The param 'path' needs to end with /: {body.uri}")
    owner = await buckets.owner_of(session, source.bucket)
    if owner != notebook.project_id:
        raise OpenArtsError(
            errors.NOTEBOOK_OBS_ACCESS,
            f"Access obs error. Reason is bucket {source.bucket} does not exist or belongs "
            "to another project.",
        )
    if not exists:
        raise OpenArtsError(
            errors.STORAGE_PATH_NOT_FOUND,
            f"Ensure that the storage path already exists: {body.uri} holds no objects.",
        )
    mounts = list(
        await session.scalars(select(NotebookMount).where(NotebookMount.notebook_id == notebook.id))
    )
    path = body.mount_path.rstrip("/") + "/"
    if any(m.mount_path == path for m in mounts):
        raise OpenArtsError(
            errors.NOTEBOOK_BAD_VALUE, f"mount_path {path} already holds a mount of this instance"
        )
    if len(mounts) >= MAX_MOUNTS:
        raise OpenArtsError(
            errors.NOTEBOOK_BAD_VALUE, f"an instance holds at most {MAX_MOUNTS} mounts"
        )
    row = NotebookMount(
        id=new_uuid(),
        notebook_id=notebook.id,
        category="OBS",
        uri=f"obs://{source.bucket}/{source.key}",
        mount_path=path,
        status="MOUNTING",
        reason="",
        created_at=now_ms(),
    )
    session.add(row)
    await session.flush()
    hint(session, Hint.NOTEBOOKS)
    return row


async def _folder_exists(store: ObjectStore, source: ObjectPath) -> bool:
    prefix = source.key.rstrip("/") + "/"
    try:
        page = await store.list_objects(source.bucket, prefix=prefix, max_keys=1)
    except (NoSuchBucket, StorageError):
        return False
    return bool(page.objects or page.common_prefixes)


async def list_mounts(session: AsyncSession, notebook: Notebook) -> list[NotebookMount]:
    rows = await session.scalars(
        select(NotebookMount)
        .where(NotebookMount.notebook_id == notebook.id)
        .order_by(NotebookMount.created_at, NotebookMount.id)
    )
    return list(rows)


async def get_mount(session: AsyncSession, notebook: Notebook, storage_id: str) -> NotebookMount:
    row = await session.get(NotebookMount, storage_id)
    if row is None or row.notebook_id != notebook.id:
        raise OpenArtsError(
            errors.STORAGE_PATH_NOT_FOUND,
            f"Ensure that the storage path already exists: mount {storage_id} not found.",
        )
    return row


async def unmount(session: AsyncSession, notebook: Notebook, storage_id: str) -> NotebookMount:
    row = await get_mount(session, notebook, storage_id)
    if row.status in ("MOUNTING", "UNMOUNTING"):
        raise OpenArtsError(
            errors.NOTEBOOK_BUSY, f"mount {storage_id} is {row.status}: try again shortly"
        )
    row.status = "UNMOUNTING"
    await session.flush()
    hint(session, Hint.NOTEBOOKS)
    return row
