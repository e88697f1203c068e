"""The notebook reconciler: moves each instance through its statuses as its workload
moves, and does the slow parts (waiting for Jupyter, saving images, mounts, deleting).

CREATING/STARTING -> RUNNING once the workload runs and Jupyter answers (START_FAILED or
CREATE_FAILED with the reason and Jupyter's last words otherwise); RUNNING -> STOPPING
when the lease runs out; STOPPING -> STOPPED when the workload has ended; DELETING ->
gone once nothing runs. Slow steps run beside the passes; a restart simply does them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from openarts.backends.base import ComputeBackend, TaskHandle, read_tail
from openarts.db.engine import Database
from openarts.db.tables import Image, Notebook, NotebookMount, Workload, WorkloadTask
from openarts.domain.events import EventType
from openarts.domain.images import ImageStatus
from openarts.domain.notebooks import WORKLOAD_KIND
from openarts.domain.notebooks import NotebookStatus as S
from openarts.domain.workloads import WorkloadStatus
from openarts.ids import now_ms
from openarts.reconcile.folders import subfolders
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.loop import SteppingReconciler
from openarts.runtime.notebook_runtime import NotebookRuntime, container_image
from openarts.services import notebooks as notebook_service
from openarts.services.events import record_event_sync

log = logging.getLogger("openarts.reconcile.notebooks")

# How often Jupyter is asked whether it answers yet while an instance starts.
PROBE_INTERVAL_S = 0.02
LOG_TAIL_BYTES = 2000
LEASE_EXPIRED = "stopped because the lease expired"


class Active(NamedTuple):
    id: str
    status: str
    desired: str
    workload_status: str | None
    lease_expires_at: int


class NotebookReconciler(SteppingReconciler):
    def __init__(
        self,
        db: Database,
        runtime: NotebookRuntime,
        backend: ComputeBackend,
        platform: notebook_service.NotebookPlatform,
        *,
        interval_s: float = 2.0,
        start_timeout_s: float = 300.0,
        leadership: Leadership | None = None,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self.backend = backend
        self.platform = platform
        super().__init__(interval_s=interval_s, leadership=leadership, log=log)
        self.start_timeout_s = start_timeout_s
        self._lease_timer: asyncio.TimerHandle | None = None
        # Saved images' packages whose image is gone are looked for at the first pass and
        # after an image is deleted (images_gone).
        self._images_gone = True

    async def closed(self) -> None:
        if self._lease_timer is not None:
            self._lease_timer.cancel()

    def images_gone(self) -> None:
        """An image was deleted: the packages saved for it go at the next pass."""
        self._images_gone = True
        self.wake()

    async def run_once(self) -> None:
        if self._images_gone:
            self._images_gone = False
            await self._remove_packages_of_gone_images()
        now = now_ms()
        soonest: int | None = None
        for row in await self.db.run_in_transaction(_active, self.platform):
            if row.id in self._steps.busy:
                continue
            await self._step(row, now)
            if row.status == S.RUNNING and row.desired == "run":
                soonest = (
                    row.lease_expires_at if soonest is None else min(soonest, row.lease_expires_at)
                )
        for mount_id, notebook_id, status in await self.db.run_in_transaction(_pending_mounts):
            if mount_id not in self._steps.busy:
                self._steps.start(mount_id, self._mount_step(mount_id, notebook_id, status))
        self._time_lease(soonest, now)

    async def _remove_packages_of_gone_images(self) -> None:
        folders = await asyncio.to_thread(subfolders, self.runtime.image_root)
        if not folders:
            return
        known = await self.db.run_in_transaction(_known_images, folders)
        for image_id in set(folders) - known:
            await self.runtime.remove_image_layer(image_id)

    def _time_lease(self, soonest: int | None, now: int) -> None:
        """Wake when the next lease runs out, not a whole interval later."""
        if self._lease_timer is not None:
            self._lease_timer.cancel()
            self._lease_timer = None
        if soonest is not None:
            delay = max(0.0, (soonest - now) / 1000)
            if delay < self.interval_s:
                self._lease_timer = asyncio.get_running_loop().call_later(delay, self.wake)

    async def _step(self, row: Active, now: int) -> None:
        status = S(row.status)
        workload = WorkloadStatus(row.workload_status) if row.workload_status else None
        ended = workload is None or workload.finished
        if status in (S.CREATING, S.STARTING):
            if workload is WorkloadStatus.RUNNING:
                self._steps.start(row.id, self._await_jupyter(row.id, status))
            elif ended:
                self._steps.start(row.id, self._failed_start(row.id, status))
        elif status in (S.RUNNING, S.SNAPSHOTTING):
            if ended:
                self._steps.start(row.id, self._failed_start(row.id, status))
            elif status is S.SNAPSHOTTING:
                self._steps.start(row.id, self._snapshot(row.id))
            elif now >= row.lease_expires_at:
                await self.db.run_in_transaction(_stop, row.id, LEASE_EXPIRED)
        elif status is S.STOPPING and ended:
            await self.db.run_in_transaction(_stopped, row.id)
        elif status is S.DELETING and ended:
            self._steps.start(row.id, self._delete(row.id))

    async def _await_jupyter(self, notebook_id: str, status: S) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            found = await self.db.run_in_transaction(_probe_target, notebook_id)
            if found is None:
                return  # stopped, deleted or ended meanwhile: the next pass sees it
            address, token = found
            if address and await self.runtime.answers(notebook_id, address, token):
                await self.db.run_in_transaction(_running, notebook_id, status)
                return
            if time.monotonic() > deadline:
                await self.db.run_in_transaction(
                    _start_failed,
                    notebook_id,
                    f"Jupyter did not answer within {self.start_timeout_s:.0f} s",
                )
                return
            await asyncio.sleep(PROBE_INTERVAL_S)

    async def _failed_start(self, notebook_id: str, status: S) -> None:
        """The workload ended on its own: why, in the user's words, with Jupyter's tail."""
        found = await self.db.run_in_transaction(_ending, notebook_id)
        if found is None:
            return
        reason, handle = found
        tail = ""
        if handle is not None:
            with contextlib.suppress(Exception):
                chunk = await read_tail(self.backend, handle, LOG_TAIL_BYTES)
                tail = chunk.data.decode("utf-8", "replace").strip()
        message = reason + (f"; Jupyter's log ends with: {tail}" if tail else "")
        await self.db.run_in_transaction(_start_failed, notebook_id, message)

    async def _snapshot(self, notebook_id: str) -> None:
        found = await self.db.run_in_transaction(_saving_image, notebook_id)
        if found is None:
            return
        image_id, project_id, base_image_id = found
        container = await self.db.run_in_transaction(
            _container_paths, project_id, base_image_id, image_id
        )
        try:
            if container is not None:
                size = await self.runtime.save_image(image_id, notebook_id, *container)
                await self.db.run_in_transaction(_image_saved, notebook_id, image_id, [], size, "")
                return
            base_layers = await self.runtime.layers_of(project_id, notebook_id, base_image_id)
            size = await self.runtime.save_layer(image_id, notebook_id)
        except Exception as error:
            log.exception("saving notebook %s as image %s failed", notebook_id, image_id)
            await self.db.run_in_transaction(
                _image_saved, notebook_id, image_id, None, 0, str(error)
            )
            return
        layer = str(self.runtime.image_root / image_id / "site-packages")
        await self.db.run_in_transaction(
            _image_saved, notebook_id, image_id, [layer, *base_layers], size, ""
        )

    async def _delete(self, notebook_id: str) -> None:
        await self.runtime.remove(notebook_id)
        await self.db.run_in_transaction(_forget, notebook_id)

    async def _mount_step(self, mount_id: str, notebook_id: str, status: str) -> None:
        found = await self.db.run_in_transaction(_mount_of, mount_id)
        if found is None:
            return
        uri, mount_path = found
        if status == "UNMOUNTING":
            await self.runtime.unmount(notebook_id, mount_path)
            await self.db.run_in_transaction(_mount_gone, mount_id)
            return
        try:
            await self.runtime.mount(notebook_id, uri, mount_path)
        except Exception as error:
            await self.db.run_in_transaction(_mount_done, mount_id, "MOUNT_FAILED", str(error))
            return
        await self.db.run_in_transaction(_mount_done, mount_id, "MOUNTED", "")


# -- the reads and writes, each one transaction ----------------------------------------------
def _active(session: Session, platform: notebook_service.NotebookPlatform) -> list[Active]:
    rows = session.execute(
        select(Notebook, Workload.status)
        .outerjoin(Workload, Workload.id == Notebook.workload_id)
        .where(
            Notebook.status.in_(
                [S.CREATING, S.STARTING, S.RUNNING, S.SNAPSHOTTING, S.STOPPING, S.DELETING]
            )
        )
    ).all()
    return [
        Active(nb.id, nb.status, nb.desired, status, platform.lease_expires_at(nb))
        for nb, status in rows
    ]


def _probe_target(session: Session, notebook_id: str) -> tuple[str, str] | None:
    row = session.execute(
        select(Notebook, Workload.status)
        .join(Workload, Workload.id == Notebook.workload_id)
        .where(Notebook.id == notebook_id)
    ).first()
    if row is None:
        return None
    notebook, workload_status = row
    if notebook.status not in (S.CREATING, S.STARTING) or workload_status != WorkloadStatus.RUNNING:
        return None
    return notebook.address, notebook.token


def _running(session: Session, notebook_id: str, status: S) -> None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is None or notebook.status != status:
        return
    now = now_ms()
    # The lease counts from when the user can work, not from the queue.
    notebook.lease_started_at = now
    notebook.lease_updated_at = now
    notebook_service.switch_notebook_status(session, notebook, S.RUNNING, "Jupyter answers")


def _start_failed(session: Session, notebook_id: str, reason: str) -> None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is None:
        return
    status = S(notebook.status)
    to = {
        S.CREATING: S.CREATE_FAILED,
        S.STARTING: S.START_FAILED,
        S.RUNNING: S.ERROR,
        S.SNAPSHOTTING: S.ERROR,
    }.get(status)
    if to is None:
        return
    if status is S.SNAPSHOTTING:
        _fail_saving(session, notebook_id, "the instance stopped while it was being saved")
    if notebook.workload_id is not None:
        session.execute(
            update(Workload).where(Workload.id == notebook.workload_id).values(desired="stop")
        )
    notebook_service.switch_notebook_status(
        session, notebook, to, reason, event_type=EventType.WARNING
    )


def _ending(session: Session, notebook_id: str) -> tuple[str, TaskHandle | None] | None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is None or notebook.workload_id is None:
        return ("its workload is gone", None) if notebook is not None else None
    workload = session.get(Workload, notebook.workload_id)
    task = session.scalar(
        select(WorkloadTask).where(WorkloadTask.workload_id == notebook.workload_id)
    )
    reason = (workload.reason if workload is not None else "") or "Jupyter ended"
    if task is not None and task.reason:
        reason = f"Jupyter ended: {task.reason}"
    handle = TaskHandle.from_json(task.handle) if task is not None and task.handle else None
    return reason, handle


def _stop(session: Session, notebook_id: str, reason: str) -> None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is not None and notebook.status == S.RUNNING:
        notebook_service.request_stop_sync(session, notebook, reason)


def _stopped(session: Session, notebook_id: str) -> None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is not None and notebook.status == S.STOPPING:
        notebook_service.switch_notebook_status(
            session, notebook, S.STOPPED, notebook.reason or "stopped"
        )


def _container_paths(
    session: Session, project_id: str, base_image_id: str, image_id: str
) -> tuple[str, str] | None:
    """For an instance on a container image: that image's reference and the one it is
    saved as; None for an instance on a preset or saved image."""
    base = container_image(session, project_id, base_image_id)
    saved = session.get(Image, image_id)
    return (base, saved.swr_path) if base is not None and saved is not None else None


def _saving_image(session: Session, notebook_id: str) -> tuple[str, str, str] | None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is None or notebook.status != S.SNAPSHOTTING:
        return None
    image_id = session.scalar(
        select(Image.id).where(
            Image.source_notebook_id == notebook_id, Image.status == ImageStatus.CREATING
        )
    )
    if image_id is None:
        notebook_service.switch_notebook_status(
            session, notebook, S.RUNNING, "the image being saved was deleted"
        )
        return None
    return image_id, notebook.project_id, notebook.image_id


def _image_saved(
    session: Session,
    notebook_id: str,
    image_id: str,
    layers: list[str] | None,
    size: int,
    error: str,
) -> None:
    image = session.get(Image, image_id)
    notebook = session.get(Notebook, notebook_id)
    if image is not None:
        image.updated_at = now_ms()
        if layers is None:
            image.status = ImageStatus.CREATE_FAILED
            image.status_message = f"saving failed: {error}"
        else:
            image.status = ImageStatus.ACTIVE
            image.status_message = "saved" if layers else "saved and pushed to the registry"
            image.layers = json.dumps(layers)
            image.size_kb = size // 1024
    if notebook is not None and notebook.status == S.SNAPSHOTTING:
        message = (
            f"saved as image {image.swr_path if image else image_id}"
            if layers is not None
            else f"saving as an image failed: {error}"
        )
        notebook_service.switch_notebook_status(session, notebook, S.RUNNING, message)


def _fail_saving(session: Session, notebook_id: str, reason: str) -> None:
    for image in session.scalars(
        select(Image).where(
            Image.source_notebook_id == notebook_id, Image.status == ImageStatus.CREATING
        )
    ):
        image.status = ImageStatus.CREATE_FAILED
        image.status_message = reason


def _forget(session: Session, notebook_id: str) -> None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is None or notebook.status != S.DELETING:
        return
    record_event_sync(
        session,
        project_id=notebook.project_id,
        resource_type=WORKLOAD_KIND,
        resource_name=notebook.name,
        resource_id=notebook.id,
        reason="NotebookDeleted",
        message="deleted with its files",
        fold=False,
    )
    session.execute(delete(NotebookMount).where(NotebookMount.notebook_id == notebook_id))
    session.delete(notebook)


def _pending_mounts(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(NotebookMount.id, NotebookMount.notebook_id, NotebookMount.status).where(
            NotebookMount.status.in_(["MOUNTING", "UNMOUNTING"])
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _mount_of(session: Session, mount_id: str) -> tuple[str, str] | None:
    mount = session.get(NotebookMount, mount_id)
    return (mount.uri, mount.mount_path) if mount is not None else None


def _mount_done(session: Session, mount_id: str, status: str, reason: str) -> None:
    mount = session.get(NotebookMount, mount_id)
    if mount is not None and mount.status == "MOUNTING":
        mount.status = status
        mount.reason = reason


def _mount_gone(session: Session, mount_id: str) -> None:
    session.execute(delete(NotebookMount).where(NotebookMount.id == mount_id))


def _known_images(session: Session, image_ids: list[str]) -> set[str]:
    return set(session.scalars(select(Image.id).where(Image.id.in_(image_ids))))
