"""Model packages: a model's folder copied out of object storage into the platform's
model store, so later changes to the bucket never change a published model.

A package is the folder holding ``config.json`` (ModelArts' ``model/`` folder): the
source may name that folder or its parent. ``execution_code``, when given, is copied in
as ``customize_service.py``; ``initial_config``, when the folder has no config.json,
becomes it. The copy is made beside its final place and renamed in when complete.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from openarts.storage.base import ObjectStore, StorageError, read_all
from openarts.storage.paths import ObjectPath
from openarts.storage.transfer import download_dir

CONFIG_FILE = "config.json"
CODE_FILE = "customize_service.py"
# What a custom server's package (type Image) needs of config.json when it has none.
CUSTOM_CONFIG = json.dumps({"model_type": "Image"})
# A custom server's own list of packages, as its image would be built with.
REQUIREMENTS_FILE = "requirements.txt"
MAX_REQUIREMENTS_BYTES = 64 * 1024


class PackageError(Exception):
    """The package cannot be imported; the message says why, in the user's terms."""


def package_dir(root: Path, model_id: str) -> Path:
    return root / model_id / "model"


async def fetch_package(
    store: ObjectStore,
    root: Path,
    model_id: str,
    source: str,
    *,
    execution_code: str = "",
    initial_config: str = "",
) -> tuple[Path, str]:
    """Copy the package in; its folder and the text of its config.json."""
    incoming = root / model_id / ".incoming"
    await asyncio.to_thread(shutil.rmtree, incoming, True)
    try:
        summary = await download_dir(store, ObjectPath.parse(source), incoming)
    except (StorageError, ValueError) as error:
        raise PackageError(f"source_location {source} cannot be read: {error}") from None
    if summary.files == 0:
        raise PackageError(f"source_location {source} holds no files")
    folder = await asyncio.to_thread(_config_folder, incoming)
    if folder is None:
        if not initial_config:
            raise PackageError(
                f"source_location {source} has no {CONFIG_FILE} (in the folder or in its "
                "model/ folder), and the request gave no initial_config"
            )
        folder = incoming
        await asyncio.to_thread((folder / CONFIG_FILE).write_text, initial_config, "utf-8")
    if execution_code:
        code = await store_file(store, execution_code)
        await asyncio.to_thread((folder / CODE_FILE).write_bytes, code)
    text = await asyncio.to_thread((folder / CONFIG_FILE).read_text, "utf-8", "replace")
    final = package_dir(root, model_id)
    await asyncio.to_thread(_move_into_place, folder, final)
    await asyncio.to_thread(shutil.rmtree, incoming, True)
    return final, text


async def store_file(store: ObjectStore, path: str) -> bytes:
    try:
        location = ObjectPath.parse(path)
        return await read_all(store, location.bucket, location.key)
    except (StorageError, ValueError) as error:
        raise PackageError(f"execution_code {path} cannot be read: {error}") from None


def package_requirements(folder: Path) -> list[str]:
    """The requirements of the package's requirements.txt (none when it has none)."""
    path = folder / REQUIREMENTS_FILE
    if not path.is_file() or path.is_symlink():
        return []
    if path.stat().st_size > MAX_REQUIREMENTS_BYTES:
        raise PackageError(
            f"{REQUIREMENTS_FILE} is over {MAX_REQUIREMENTS_BYTES // 1024} KiB: "
            "not a requirements file"
        )
    lines = (line.strip() for line in path.read_text("utf-8", "replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def package_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def remove_model_files(root: Path, model_id: str) -> None:
    shutil.rmtree(root / model_id, ignore_errors=True)


def _config_folder(incoming: Path) -> Path | None:
    for candidate in (incoming, incoming / "model"):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return None


def _move_into_place(folder: Path, final: Path) -> None:
    shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    folder.rename(final)
