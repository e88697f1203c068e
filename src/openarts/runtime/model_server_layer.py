"""The model server's layer: what a model environment needs of the platform, alone.

A model's replica runs the platform's model server (``openarts.inference``) in the
model's environment. That environment must hold the model's runtime and dependencies
and nothing else of the server's: a model that "works" only because a package happened
to be installed beside the server breaks when it is not. So the model server is copied
out of the server's environment into a layer of its own: the ``openarts.inference``
package (standard library only, bar what it loads for a model) and the distributions
its HTTP server needs (uvicorn and what uvicorn requires, with httptools and uvloop when
the server has them: they only make it faster), and pip, with which a model's
dependencies are installed into a runtime that has none of its own (and which
ModelArts' images hold too). The layer is named by a digest of what
it holds, made once, and shared by every model environment.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import tempfile
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement

import openarts

# The HTTP server the model server runs on; what speeds it up, and pip, where installed.
REQUIRED = ("uvicorn",)
OPTIONAL = ("httptools", "uvloop", "pip")
# The platform's part: the package's top, and the model server's own package.
PACKAGE_FILES = ("__init__.py",)
PACKAGE_FOLDERS = ("inference",)


class ModelServerUnavailable(Exception):
    """The server's environment lacks what the model server needs; the message says
    what."""


@cache
def server_distributions() -> tuple[importlib.metadata.Distribution, ...]:
    """uvicorn, what it requires (to the end, with this Python's markers and no extras), and the
    optional speed-ups installed here; each once."""
    chosen: dict[str, importlib.metadata.Distribution] = {}
    wanted = [(name, True) for name in REQUIRED] + [(name, False) for name in OPTIONAL]
    while wanted:
        name, required = wanted.pop()
        key = _normal(name)
        if key in chosen:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            if required:
                raise ModelServerUnavailable(
                    f"the model server needs {name}, which the server's environment lacks"
                ) from None
            continue
        chosen[key] = distribution
        for text in distribution.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate():
                wanted.append((requirement.name, True))
    return tuple(chosen[k] for k in sorted(chosen))


@cache
def layer_name() -> str:
    """The layer's folder name: a digest of the distributions and the platform's files
    it holds, so a changed server makes a new layer and never changes one in use."""
    digest = hashlib.sha256()
    for distribution in server_distributions():
        digest.update(f"{distribution.metadata['Name']}=={distribution.version}\n".encode())
    for relative, path in _platform_files():
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"model-server-{digest.hexdigest()[:16]}"


def ensure_layer(root: Path) -> Path:
    """The layer's folder under ``root``, made unless it is there (built beside it and
    renamed into place: a half-made one never counts). Blocking: run it in a thread."""
    target = root / layer_name()
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    # Models publish side by side (threads of one server, and other servers): each build
    # has a folder of its own, and only a whole one is renamed into place.
    building = Path(tempfile.mkdtemp(dir=root, prefix=f".{target.name}."))
    try:
        for relative, path in _platform_files():
            _copy(path, building / "openarts" / relative)
        for distribution in server_distributions():
            name = distribution.metadata["Name"]
            if distribution.files is None:
                raise ModelServerUnavailable(
                    f"{name} in the server's environment lists no files (no RECORD): "
                    "it cannot be copied into the model server's layer"
                )
            for file in distribution.files:
                parts = Path(str(file)).parts
                # RECORD lists the scripts it installed outside site-packages too.
                if Path(str(file)).is_absolute() or ".." in parts or "__pycache__" in parts:
                    continue
                source = Path(str(distribution.locate_file(file)))
                if source.is_file():
                    _copy(source, building / str(file))
        for folder, _dirs, _files in os.walk(building):
            os.chmod(folder, 0o755)
        try:
            building.rename(target)
        except OSError:
            # Another server made it meanwhile: theirs is the same.
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


@cache
def _platform_files() -> tuple[tuple[str, Path], ...]:
    """The platform's files the layer holds: (path under openarts/, file)."""
    package = Path(openarts.__file__).parent
    files = [(name, package / name) for name in PACKAGE_FILES]
    for folder in PACKAGE_FOLDERS:
        for path in sorted((package / folder).rglob("*")):
            relative = path.relative_to(package)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                files.append((str(relative), path))
    return tuple(files)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    # Readable by every task (each runs as a user of its own), written by none.
    target.chmod(0o755 if os.access(source, os.X_OK) else 0o644)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
