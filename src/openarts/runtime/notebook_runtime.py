"""What makes a notebook instance real: its folders and environment before Jupyter
starts (the workload's preparer), the check that Jupyter answers, saving its environment
as an image layer, and object storage mounted under its work folder.

Folders of an instance (``<home>/notebooks/<id>/``): ``home/`` is its HOME and
``home/work/`` its persistent volume (ModelArts' /home/ma-user/work, Jupyter's root),
with mounts under ``home/work/data/``; ``env/`` is its Python environment. All of it
survives stop and start; delete removes it.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from openarts.backends.base import BackendError, ComputeBackend, PrepareError, TaskSpec
from openarts.backends.registry_client import Layer
from openarts.backends.sandbox import LAYERS_FILE, Sandbox
from openarts.db.engine import Database
from openarts.db.tables import Image, Notebook
from openarts.domain.addresses import authority_of, resolved, socket_of
from openarts.domain.images import find_preset
from openarts.domain.notebooks import (
    LIVE,
    MOUNT_ROOT,
    PROXY_PREFIX,
    SOCKET_ADDRESS,
    SOCKET_FOLDER,
    SOCKET_INSIDE,
    WORKLOAD_KIND,
)
from openarts.domain.notebooks import NotebookStatus as S
from openarts.domain.sandbox_view import MA_HOME, Mount, TaskView
from openarts.lazy import lazy_import
from openarts.runtime.image_pulls import pull_image
from openarts.runtime.notebook_envs import NotebookEnvironments, environment_variables
from openarts.runtime.stacked_envs import make_environment, site_packages, snapshot
from openarts.security.secrets_box import SecretBox
from openarts.services import identity, registry_images
from openarts.services.events import record_event_sync
from openarts.services.registry_access import PlatformRegistry
from openarts.storage.base import ObjectStore
from openarts.storage.paths import ObjectPath
from openarts.storage.transfer import download_dir
from openarts.unix_sockets import SocketPath, pin_socket

if TYPE_CHECKING:
    import aiohttp
else:
    aiohttp = lazy_import("aiohttp")

log = logging.getLogger("openarts.notebooks")

# What a container image for notebooks must carry (found on the image's PATH), as
# ModelArts' own notebook images do.
IMAGE_JUPYTER = "jupyter-lab"
# Beside an instance's home (the platform's, not the instance's): its home was made
# from its image's.
SEEDED = "home-from-image"
LAYER_TAR = "layer.tar"
# A home with conda in it is gigabytes: its archive has time of its own.
ARCHIVE_TIMEOUT_S = 1800


class NotebookRuntime:
    def __init__(
        self,
        db: Database,
        envs: NotebookEnvironments,
        box: SecretBox,
        root: Path,
        image_root: Path,
        store: ObjectStore,
        backend: ComputeBackend,
        *,
        sandbox: Sandbox | None = None,
        registry: PlatformRegistry | None = None,
    ) -> None:
        self.db = db
        self.backend = backend
        # Jupyter runs in a sandbox (ModelArts' paths, a Unix socket for the proxy), and
        # the platform changes an instance's folders through one too.
        self.sandbox = sandbox
        self.sandboxed = sandbox is not None
        self.envs = envs
        self.box = box
        self.root = root
        self.image_root = image_root
        self.store = store
        # Where an instance on a container image is saved as a new image.
        self.registry = registry

    def folder(self, notebook_id: str) -> Path:
        return self.root / notebook_id

    def work(self, notebook_id: str) -> Path:
        return self.folder(notebook_id) / "home" / "work"

    # -- before Jupyter starts (the workload reconciler's preparer) ----------------------------
    async def prepare(self, workload_id: str, specs: list[TaskSpec]) -> list[TaskSpec]:
        found = await self.db.run_in_transaction(_notebook_of_workload, workload_id)
        if found is None:
            raise PrepareError("the instance was deleted or stopped before it started")
        notebook_id, image_id, project_id, sealed_token = found
        container = await self.db.run_in_transaction(container_image, project_id, image_id)
        if container is not None:
            return [
                await self._in_image(specs[0], notebook_id, project_id, sealed_token, container)
            ]
        layers = await self.layers_of(project_id, notebook_id, image_id)
        folder = self.folder(notebook_id)
        home = folder / "home"
        await asyncio.to_thread(_make_folders, home)
        python = await asyncio.to_thread(make_environment, folder / "env", layers)
        spec = specs[0]
        if self.sandboxed:
            return [await self._sandboxed(spec, notebook_id, project_id, sealed_token, python)]
        ip = self.backend.address_of(spec.node)
        port = await self.backend.free_port(spec.node)
        address = f"{ip}:{port}"
        await self.db.run_in_transaction(_record_address, notebook_id, address)
        # Jupyter listens on its node's address only (loopback on the local backend).
        command = [f"--ip={ip}" if part.startswith("--ip=") else part for part in spec.command]
        command[0] = str(python)
        command.append(f"--ServerApp.port={port}")
        if os.geteuid() == 0:
            command.append("--allow-root")
        env = {
            **spec.env,
            **environment_variables(folder / "env", home),
            "JUPYTER_TOKEN": self.box.decrypt(sealed_token),
            "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
            "OPENARTS_NOTEBOOK_ID": notebook_id,
        }
        return [replace(spec, command=tuple(command), env=env)]

    async def _sandboxed(
        self, spec: TaskSpec, notebook_id: str, project_id: str, sealed_token: str, python: Path
    ) -> TaskSpec:
        """Jupyter in the instance's sandbox: its home at /home/ma-user (the work folder
        under it), its environment writable where it is (pip installs there), and a Unix
        socket as its only way in, in a folder the proxy reaches on the host."""
        folder = self.folder(notebook_id)
        sockets = folder / SOCKET_FOLDER
        await asyncio.to_thread(_fresh_socket_folder, sockets, self._pin(notebook_id))
        uid = await self.db.run_in_transaction(project_uid, project_id)
        await self.db.run_in_transaction(_record_address, notebook_id, SOCKET_ADDRESS)
        command = [part for part in spec.command if not part.startswith("--ip=")]
        command[0] = str(python)
        command += [f"--ServerApp.sock={SOCKET_INSIDE}", "--ServerApp.sock_mode=0600"]
        home = Path(MA_HOME)
        env = {
            **spec.env,
            **environment_variables(folder / "env", home),
            "JUPYTER_TOKEN": self.box.decrypt(sealed_token),
            "JUPYTER_RUNTIME_DIR": str(home / ".local" / "share" / "jupyter" / "runtime"),
            "OPENARTS_NOTEBOOK_ID": notebook_id,
        }
        view = self._view(
            notebook_id, uid, Mount(str(sockets), str(Path(SOCKET_INSIDE).parent), writable=True)
        )
        return replace(spec, command=tuple(command), env=env, workdir=home / "work", view=view)

    async def _in_image(
        self, spec: TaskSpec, notebook_id: str, project_id: str, sealed_token: str, image: str
    ) -> TaskSpec:
        """Jupyter of a container image's own (``jupyter-lab`` on its PATH, as ModelArts'
        notebook images carry it), in the sandbox over the image's root file system: the
        instance's home at /home/ma-user as with any image, its socket the only way in.
        The image is pulled on the node first (events on the instance)."""
        if not self.sandboxed:
            raise PrepareError("a container image runs in the sandbox, which is off here")

        async def say(reason: str, message: str) -> None:
            await self.db.run_in_transaction(_note, notebook_id, reason, message)

        await pull_image(self.backend, image, spec.node, say)
        folder = self.folder(notebook_id)
        await asyncio.to_thread(_make_folders, folder / "home")
        uid = await self.db.run_in_transaction(project_uid, project_id)
        await self._seed_home(notebook_id, image, spec.node, uid, say)
        sockets = folder / SOCKET_FOLDER
        await asyncio.to_thread(_fresh_socket_folder, sockets, self._pin(notebook_id))
        await self.db.run_in_transaction(_record_address, notebook_id, SOCKET_ADDRESS)
        # ``python -m jupyterlab`` of the platform's own becomes the image's jupyter-lab.
        options = [part for part in spec.command[3:] if not part.startswith("--ip=")]
        command = [
            IMAGE_JUPYTER,
            *options,
            f"--ServerApp.sock={SOCKET_INSIDE}",
            "--ServerApp.sock_mode=0600",
        ]
        home = Path(MA_HOME)
        env = {
            **spec.env,
            "JUPYTER_TOKEN": self.box.decrypt(sealed_token),
            "JUPYTER_RUNTIME_DIR": str(home / ".local" / "share" / "jupyter" / "runtime"),
            "OPENARTS_NOTEBOOK_ID": notebook_id,
        }
        view = self._view(
            notebook_id, uid, Mount(str(sockets), str(Path(SOCKET_INSIDE).parent), writable=True)
        )
        return replace(
            spec,
            command=tuple(command),
            env=env,
            workdir=home / "work",
            view=replace(view, image=image),
        )

    async def _seed_home(
        self,
        notebook_id: str,
        image: str,
        node: str,
        uid: int,
        say: Callable[[str, str], Awaitable[None]],
    ) -> None:
        """A new instance's home starts as the image's /home/ma-user (as a new volume
        does in a container): ModelArts' images keep software there (conda). Done once,
        before the instance's first start, while its home holds nothing of the user's;
        its work folder is the instance's own."""
        folder = self.folder(notebook_id)
        if (folder / SEEDED).exists():
            return
        try:
            root = await self.backend.image_root(image, node)
        except BackendError as error:
            raise PrepareError(str(error)) from None
        await say("ImagePreparing", f"copying the image's {MA_HOME} into the instance's home")
        try:
            copied = await asyncio.to_thread(_seed_from, root, folder, uid)
        except OSError as error:
            raise PrepareError(f"the image's {MA_HOME} could not be copied: {error}") from None
        if not copied:
            await say(
                "ImagePreparing",
                f"the instance's home holds files already: the image's {MA_HOME} is not "
                "copied over them",
            )
        (folder / SEEDED).touch()

    async def layers_of(self, project_id: str, notebook_id: str, image_id: str) -> list[str]:
        preset = find_preset(image_id)
        if preset is not None:

            async def progress(message: str) -> None:
                await self.db.run_in_transaction(_note, notebook_id, "ImagePreparing", message)

            try:
                return await self.envs.preset_layers(preset, progress)
            except Exception as error:
                raise PrepareError(f"image {preset.name} could not be prepared: {error}") from None
        layers = await self.db.run_in_transaction(_image_layers, project_id, image_id)
        if not layers:
            raise PrepareError(f"image {image_id} has no environment this platform can run")
        return layers

    # -- is Jupyter there ------------------------------------------------------------------
    async def answers(self, notebook_id: str, address: str, sealed_token: str) -> bool:
        url = f"http://{authority_of(address)}{PROXY_PREFIX}{notebook_id}/api/status"
        headers = {"Authorization": f"token {self.box.decrypt(sealed_token)}"}
        socket = socket_of(resolved(address, self.folder(notebook_id)))
        if socket is not None and not await asyncio.to_thread(self._pinned, notebook_id):
            return False  # no socket of Jupyter's own yet
        try:
            unix = SocketPath(socket) if socket is not None else None
        except OSError:
            return False  # its folder is not there yet
        connector = aiohttp.UnixConnector(path=unix.path) if unix is not None else None
        try:
            async with (
                aiohttp.ClientSession(
                    connector=connector, timeout=aiohttp.ClientTimeout(total=2)
                ) as client,
                client.get(url, headers=headers) as response,
            ):
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False
        finally:
            if unix is not None:
                unix.close()

    def _pin(self, notebook_id: str) -> Path:
        return self.folder(notebook_id) / Path(SOCKET_INSIDE).name

    def _pinned(self, notebook_id: str) -> bool:
        """Whether Jupyter's socket is pinned where the proxy dials it (pinned now when it
        has just appeared; only a socket of the instance's own uid is)."""
        pin = self._pin(notebook_id)
        if pin.exists():
            return True
        sockets = self.folder(notebook_id) / SOCKET_FOLDER
        owner = sockets.stat().st_uid if os.geteuid() == 0 else None
        return pin_socket(sockets / pin.name, pin, owner)

    # -- work in the instance's own folders, as its own user ---------------------------------
    def _as_instance(self, notebook_id: str, argv: list[str], *extra: Mount) -> None:
        """Run ``argv`` in the instance's view, as its uid: the folders it can write are
        changed the way it could change them itself, never through a link it left there
        (a root write or removal through one would land on the host)."""
        assert self.sandbox is not None
        # Its home's owner (the home itself sits in a folder only root writes).
        uid = (self.folder(notebook_id) / "home").stat().st_uid
        self.sandbox.run_as(self._view(notebook_id, uid, *extra), argv)

    def _view(self, notebook_id: str, uid: int, *extra: Mount) -> TaskView:
        """What the instance sees: its home at /home/ma-user (the work folder under it)
        and its environment, where it has one (an instance on a container image has
        none), writable where it is (pip installs there)."""
        folder = self.folder(notebook_id)
        env = folder / "env"
        own = (Mount(str(env), str(env), writable=True),) if env.is_dir() else ()
        return TaskView(
            uid=uid,
            hostname=f"notebook-{notebook_id}",
            mounts=(Mount(str(folder / "home"), MA_HOME, writable=True), *own, *extra),
            egress=True,  # its package index, the object-storage endpoint
        )

    # -- saving as an image -------------------------------------------------------------------
    async def save_image(self, image_id: str, notebook_id: str, base: str, target: str) -> int:
        """An instance on container image ``base`` saved as image ``target`` in the
        platform's registry: ``base`` with one layer on top, the instance's home but its
        work folder (as ModelArts leaves /home/ma-user/work out of a saved image). Its
        size in bytes (the new layer's)."""
        if self.sandbox is None:
            raise PrepareError("a container image runs in the sandbox, which is off here")
        building = self.image_root / image_id / "building"
        try:
            await asyncio.to_thread(self._home_archive, notebook_id, building)
            layer = await asyncio.to_thread(
                _compressed, building / LAYER_TAR, f"openarts: saved from notebook {notebook_id}"
            )
            await registry_images.push_extended(self.registry, base, target, layer)
            return layer.size
        finally:
            await asyncio.to_thread(shutil.rmtree, building.parent, True)

    def _home_archive(self, notebook_id: str, building: Path) -> None:
        """The instance's home as a tar file, written by the instance's own user (no link
        it left is followed by root), owned by ma-user inside."""
        assert self.sandbox is not None
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True, mode=0o700)
        home = self.folder(notebook_id) / "home"
        uid = home.stat().st_uid
        os.chown(building, uid, uid)
        inside = "/run/openarts-layer"
        view = TaskView(
            uid=uid,
            hostname=f"notebook-{notebook_id}",
            mounts=(
                Mount(str(home), MA_HOME, writable=False),
                Mount(str(building), inside, writable=True),
            ),
        )
        # Exit status 1 is tar's "a file changed while it was read" (a running kernel's
        # history): the archive is whole.
        script = (
            'tar --create --numeric-owner --file "$1" --directory "$2" '
            "--exclude=./work --exclude=./.local/share/jupyter/runtime "
            # The layer's paths are the image's: the home's under home/ma-user.
            # (Names and hard links only: a symbolic link's target stays as written.)
            "--transform='flags=rh;s,^\\.,home/ma-user,' . ; "
            'status=$?; [ "$status" -le 1 ]'
        )
        self.sandbox.run_as(
            view,
            ["/bin/sh", "-c", script, "sh", f"{inside}/{LAYER_TAR}", MA_HOME],
            timeout_s=ARCHIVE_TIMEOUT_S,
        )
        # The platform's again before root reads what is in it.
        os.chown(building, 0, 0)
        if (building / LAYER_TAR).is_symlink():
            raise OSError("the archive of the instance's home is a link")

    async def save_layer(self, image_id: str, notebook_id: str) -> int:
        destination = self.image_root / image_id / "site-packages"
        destination.parent.mkdir(parents=True, exist_ok=True)
        if self.sandbox is None:
            return await asyncio.to_thread(snapshot, self.folder(notebook_id) / "env", destination)
        return await asyncio.to_thread(self._save_sandboxed, notebook_id, destination)

    def _save_sandboxed(self, notebook_id: str, destination: Path) -> int:
        """The instance's packages, copied by the instance's own user into a folder of
        the platform's, then made the platform's and renamed into place."""
        building = destination.with_name(destination.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(mode=0o700)
        uid = (self.folder(notebook_id) / "home").stat().st_uid
        os.chown(building, uid, uid)
        source = site_packages(self.folder(notebook_id) / "env")
        self._as_instance(
            notebook_id,
            [
                "/bin/sh",
                "-c",
                'cp -a "$1/." /run/openarts-layer/ && rm -f /run/openarts-layer/"$2" && '
                "find /run/openarts-layer -name __pycache__ -prune -exec rm -rf {} +",
                "sh",
                str(source),
                LAYERS_FILE,
            ],
            Mount(str(building), "/run/openarts-layer", writable=True),
        )
        # Out of every task's sight now: taken back by the platform before it is used.
        _own(building, 0)
        building.rename(destination)
        return sum(f.lstat().st_size for f in destination.rglob("*") if f.is_file())

    # -- mounts ------------------------------------------------------------------------------
    def mount_target(self, notebook_id: str, mount_path: str) -> Path:
        inside = mount_path[len(MOUNT_ROOT) :].strip("/")
        return self.work(notebook_id) / "data" / inside

    async def mount(self, notebook_id: str, uri: str, mount_path: str) -> None:
        """Make ``uri`` appear at ``mount_path``: the bucket's own folder, live, with the
        local store; a copy made now with an S3 store."""
        source = ObjectPath.parse(uri)
        target = self.mount_target(notebook_id, mount_path)
        # Only looked at here (a read); whatever is written goes through the sandbox.
        if target.is_symlink() or target.exists():
            raise FileExistsError(f"{mount_path} is already taken in the instance")
        if self.sandbox is not None:
            # The store's folders are out of a sandbox's sight: the mount is a copy made
            # now, as with an S3 store, put in place by the instance's own user.
            await self._mount_copy(notebook_id, source, mount_path)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = self.store.local_folder(source.bucket, source.key)
        if folder is not None:
            await asyncio.to_thread(target.symlink_to, folder, True)
            return
        await download_dir(self.store, source, target)

    async def _mount_copy(self, notebook_id: str, source: ObjectPath, mount_path: str) -> None:
        staging = self.folder(notebook_id) / f".mount-{uuid.uuid4().hex}"
        try:
            await asyncio.to_thread(staging.mkdir, 0o700)
            await download_dir(self.store, source, staging)
            uid = (await asyncio.to_thread((self.folder(notebook_id) / "home").stat)).st_uid
            # The staging folder is the platform's, in no task's view: safe to walk.
            await asyncio.to_thread(_own, staging, uid)
            await asyncio.to_thread(
                self._as_instance,
                notebook_id,
                [
                    "/bin/sh",
                    "-c",
                    'mkdir -p "$(dirname "$1")" && cp -a /run/openarts-mount "$1"',
                    "sh",
                    self._inside(mount_path),
                ],
                Mount(str(staging), "/run/openarts-mount", writable=False),
            )
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)

    def _inside(self, mount_path: str) -> str:
        return f"{MA_HOME}/work/data/{mount_path[len(MOUNT_ROOT) :].strip('/')}"

    async def unmount(self, notebook_id: str, mount_path: str) -> None:
        if self.sandbox is not None:
            await asyncio.to_thread(
                self._as_instance, notebook_id, ["/bin/rm", "-rf", "--", self._inside(mount_path)]
            )
            return
        target = self.mount_target(notebook_id, mount_path)
        if target.is_symlink():
            target.unlink()
        elif target.exists():
            await asyncio.to_thread(shutil.rmtree, target, True)

    async def remove(self, notebook_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.folder(notebook_id), True)

    async def remove_image_layer(self, image_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.image_root / image_id, True)


def _compressed(archive: Path, note: str) -> Layer:
    """``archive`` gzipped beside it, as a layer: both digests and its size."""
    packed = archive.with_name(archive.name + ".gz")
    raw = hashlib.sha256()
    with (
        archive.open("rb") as source,
        gzip.GzipFile(packed, "wb", compresslevel=6, mtime=0) as target,
    ):
        while chunk := source.read(1 << 20):
            raw.update(chunk)
            target.write(chunk)
    archive.unlink()
    digest = hashlib.sha256()
    with packed.open("rb") as done:
        while chunk := done.read(1 << 20):
            digest.update(chunk)
    return Layer(
        path=packed,
        digest=f"sha256:{digest.hexdigest()}",
        size=packed.stat().st_size,
        diff_id=f"sha256:{raw.hexdigest()}",
        note=note,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _seed_from(root: Path, folder: Path, uid: int) -> bool:
    """Copy the home of the image whose root file system is ``root`` into the
    instance's new home, made the instance's uid's (as the sandbox hands folders over);
    False when the home holds anything already (an instance that ran before on another
    image: its files are the user's, never written over as root). Copied into a folder
    of the platform's first, then moved in: nothing the instance made is followed.

    Root reads the image here: a link in it is copied as a link and never followed (an
    image whose /home or /home/ma-user is a link gives nothing: followed on the host it
    would name the host's files), and only regular files are read (never a device or a
    pipe an image may hold)."""
    home = folder / "home"
    work = home / "work"
    if (
        any(entry.name != "work" for entry in home.iterdir())
        or work.is_symlink()
        or any(work.iterdir())
    ):
        return False
    homes = root / "home"
    source = homes / MA_HOME.removeprefix("/home/")
    if homes.is_symlink() or source.is_symlink() or not source.is_dir():
        return True
    if not os.path.realpath(source).startswith(os.path.realpath(root) + os.sep):
        return True
    staging = folder / "seeding"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(
        source,
        staging,
        symlinks=True,
        ignore=lambda at, names: ["work"] if Path(at) == source else [],
        copy_function=_copy_regular,
    )
    for at, dirs, files in os.walk(staging):
        for name in (*dirs, *files):
            os.lchown(os.path.join(at, name), uid, uid)
    for entry in staging.iterdir():
        os.rename(entry, home / entry.name)
    staging.rmdir()
    return True


def _copy_regular(source: str, target: str) -> None:
    """A regular file copied; anything else (a device, a pipe, a socket) left out."""
    if stat.S_ISREG(os.lstat(source).st_mode):
        shutil.copy2(source, target, follow_symlinks=False)


def _make_folders(home: Path) -> None:
    (home / "work").mkdir(parents=True, exist_ok=True)


def _fresh_socket_folder(folder: Path, pin: Path) -> None:
    """The folder of the instance's socket, without the socket a stopped Jupyter left,
    nor its pin."""
    if folder.is_symlink():
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / Path(SOCKET_INSIDE).name).unlink(missing_ok=True)
    pin.unlink(missing_ok=True)


def _own(target: Path, uid: int) -> None:
    """Give a folder of the platform's own, out of every task's sight, to ``uid`` (it
    already is the server's own when the server is not root)."""
    if os.geteuid() != 0:
        return
    for parent, dirs, files in os.walk(target):
        os.lchown(parent, uid, uid)
        for name in (*dirs, *files):
            os.lchown(os.path.join(parent, name), uid, uid)


def project_uid(session: Session, project_id: str) -> int:
    """The project's sandbox uid, for a task about to start (PrepareError: it is gone)."""
    uid = identity.sandbox_uid_of(session, project_id)
    if uid is None:
        raise PrepareError(f"project {project_id} no longer exists")
    return uid


def _notebook_of_workload(session: Session, workload_id: str) -> tuple[str, str, str, str] | None:
    notebook = session.scalar(select(Notebook).where(Notebook.workload_id == workload_id))
    if notebook is None or notebook.desired != "run" or S(notebook.status) not in LIVE:
        return None
    return notebook.id, notebook.image_id, notebook.project_id, notebook.token


def _record_address(session: Session, notebook_id: str, address: str) -> None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is not None:
        notebook.address = address


def container_image(session: Session, project_id: str, image_id: str) -> str | None:
    """The reference of a registered container image (one with no layers of saved
    packages); None for a preset or a saved image."""
    if find_preset(image_id) is not None:
        return None
    image = session.get(Image, image_id)
    if image is None or image.project_id != project_id or json.loads(image.layers):
        return None
    return image.swr_path


def _image_layers(session: Session, project_id: str, image_id: str) -> list[str]:
    image = session.get(Image, image_id)
    if image is None or image.project_id != project_id:
        return []
    layers: list[str] = json.loads(image.layers)
    return layers


def _note(session: Session, notebook_id: str, reason: str, message: str) -> None:
    notebook = session.get(Notebook, notebook_id)
    if notebook is not None:
        record_event_sync(
            session,
            project_id=notebook.project_id,
            resource_type=WORKLOAD_KIND,
            resource_name=notebook.name,
            resource_id=notebook.id,
            reason=reason,
            message=message,
        )
