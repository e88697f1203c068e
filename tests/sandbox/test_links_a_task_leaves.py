"""Symbolic links a task leaves in the folders it can write never aim the platform's own
work (done as root) at the host: its sockets are dialled pinned, its environment is
rewritten without following links, and its work folder is changed by its own user."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from openarts.backends.sandbox import (
    LAYERS_FILE,
    Sandbox,
    SandboxUnavailable,
    environment_folders,
)
from openarts.domain.sandbox_view import SANDBOX_UID_BASE
from openarts.runtime.notebook_runtime import NotebookRuntime
from openarts.runtime.stacked_envs import (
    EnvironmentTampered,
    make_environment,
    site_packages,
)
from openarts.storage.base import one_chunk
from openarts.storage.local import LocalStore
from openarts.unix_sockets import pin_socket

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the per-project uid needs root")
UID = SANDBOX_UID_BASE + 777


def test_only_a_tasks_own_socket_is_pinned(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    host = socket.socket(socket.AF_UNIX)
    host.bind(str(tmp_path / "daemon.sock"))  # a host daemon's socket, root's
    # The task points its socket's name at the daemon's: never dialled.
    (own / "task.sock").symlink_to(tmp_path / "daemon.sock")
    assert not pin_socket(own / "task.sock", tmp_path / "pin.sock", owner=UID)
    assert not (tmp_path / "pin.sock").exists()
    (own / "task.sock").unlink()
    # A socket of another uid (root's, here) is not the task's either.
    os.link(tmp_path / "daemon.sock", own / "task.sock")
    assert not pin_socket(own / "task.sock", tmp_path / "pin.sock", owner=UID)
    (own / "task.sock").unlink()
    mine = socket.socket(socket.AF_UNIX)
    mine.bind(str(own / "task.sock"))
    os.lchown(own / "task.sock", UID, UID)
    assert pin_socket(own / "task.sock", tmp_path / "pin.sock", owner=UID)
    assert (tmp_path / "pin.sock").lstat().st_ino == (own / "task.sock").lstat().st_ino
    host.close()
    mine.close()


def test_an_environment_is_rewritten_without_following_links(tmp_path: Path) -> None:
    env = tmp_path / "env"
    make_environment(env, [])
    victim = tmp_path / "victim"
    victim.write_text("the host's own")
    victim.chmod(0o600)
    (env / "bin" / "pip").unlink()
    (env / "bin" / "pip").symlink_to(victim)
    make_environment(env, [])
    assert victim.read_text() == "the host's own" and (victim.stat().st_mode & 0o777) == 0o600
    assert not (env / "bin" / "pip").is_symlink()
    # A folder on the way replaced by a link: refused, nothing written there.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    packages = site_packages(env)
    os.rename(packages, tmp_path / "kept")
    packages.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(EnvironmentTampered):
        make_environment(env, [])
    assert list(elsewhere.iterdir()) == []


def test_only_the_platforms_own_layers_file_is_read(tmp_path: Path) -> None:
    env = tmp_path / "env"
    python = make_environment(env, [str(tmp_path / "layer")])
    planted = env / "lib" / "python3.99" / "site-packages"
    planted.mkdir(parents=True)
    (planted / LAYERS_FILE).write_text('import site; list(map(site.addsitedir, ["/etc"]))\n')
    folders = environment_folders(python)
    assert str(tmp_path / "layer") in folders and "/etc" not in folders


@pytest.fixture
def instance(tmp_path: Path) -> tuple[NotebookRuntime, Path]:
    sandbox = Sandbox(tmp_path / "tasks" / ".sandbox", hidden=[tmp_path / "home"])
    sandbox.probe()
    store = LocalStore(tmp_path / "obs")
    runtime = NotebookRuntime(
        None,  # type: ignore[arg-type]  # what these steps need is below
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        tmp_path / "notebooks",
        tmp_path / "images",
        store,
        None,  # type: ignore[arg-type]
        sandbox=sandbox,
    )
    folder = runtime.folder("nb")
    (folder / "home" / "work" / "data").mkdir(parents=True)
    make_environment(folder / "env", [])
    for path in (folder / "home", folder / "home" / "work", folder / "home" / "work" / "data"):
        os.chown(path, UID, UID)
    return runtime, folder


async def test_unmounting_through_a_link_removes_nothing_of_the_hosts(
    instance: tuple[NotebookRuntime, Path], tmp_path: Path
) -> None:
    runtime, folder = instance
    victim = tmp_path / "victim"
    (victim / "x").mkdir(parents=True)
    (victim / "x" / "keep.txt").write_text("the host's own")
    data = folder / "home" / "work" / "data"
    data.rmdir()
    data.symlink_to(victim, target_is_directory=True)
    await runtime.unmount("nb", "/data/x/")
    assert (victim / "x" / "keep.txt").read_text() == "the host's own"


async def test_mounting_through_a_link_writes_nothing_on_the_host(
    instance: tuple[NotebookRuntime, Path], tmp_path: Path
) -> None:
    runtime, folder = instance
    await runtime.store.create_bucket("bkt")
    await runtime.store.write("bkt", "sets/a.csv", one_chunk(b"1,2\n"))
    victim = tmp_path / "victim"
    victim.mkdir()
    data = folder / "home" / "work" / "data"
    data.rmdir()
    data.symlink_to(victim, target_is_directory=True)
    with pytest.raises(SandboxUnavailable):
        await runtime.mount("nb", "obs://bkt/sets/", "/data/sets/")
    assert list(victim.iterdir()) == []
    data.unlink()
    data.mkdir()
    os.chown(data, UID, UID)
    await runtime.mount("nb", "obs://bkt/sets/", "/data/sets/")
    copied = data / "sets" / "a.csv"
    assert copied.read_text() == "1,2\n" and copied.stat().st_uid == UID


async def test_saving_an_image_never_copies_the_hosts_files(
    instance: tuple[NotebookRuntime, Path], tmp_path: Path
) -> None:
    runtime, folder = instance
    secret = tmp_path / "secrets"
    secret.mkdir()
    (secret / "key").write_text("the host's own")
    packages = site_packages(folder / "env")
    for path in packages.iterdir():
        path.unlink()
    packages.rmdir()
    packages.symlink_to(secret, target_is_directory=True)
    with pytest.raises(SandboxUnavailable):
        await runtime.save_layer("image-1", "nb")
    layer = tmp_path / "images" / "image-1"
    assert not any(p.name == "key" for p in layer.rglob("*"))
