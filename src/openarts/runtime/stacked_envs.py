"""Stacked environments: a small PEP 405 virtual environment over layers of packages.

Made by hand (a config file and a few links: milliseconds, not the ~200 ms of ``venv``);
its own site-packages holds only what is installed into it, and a ``.pth`` file stacks
the layers beneath it (saved images' packages, then an engine's, then the server's own),
so nothing is copied. Notebook instances run in one; so does a training job started from
a saved image.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from packaging.utils import canonicalize_name

# The sandbox reads it to see which layers an environment runs from.
from openarts.backends.sandbox import LAYERS_FILE

PYTHON_DIR = f"python{sys.version_info.major}.{sys.version_info.minor}"


def site_packages(prefix: Path) -> Path:
    return prefix / "lib" / PYTHON_DIR / "site-packages"


def server_layers() -> list[str]:
    """The server's own site-packages (JupyterLab, pip, NumPy, pandas live there)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def make_environment(target: Path, layers: list[str]) -> Path:
    """Make (or refresh the layers of) the environment at ``target``; its interpreter."""
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    bin_dir = target / "bin"
    own = site_packages(target)
    # A notebook's environment is its user's to write (pip installs there) and this runs
    # as root at each start: no folder on the way may be a symbolic link, and no file is
    # written through one, so nothing the user planted redirects a write.
    target.parent.mkdir(parents=True, exist_ok=True)
    for folder in (target, bin_dir, target / "lib", own.parent, own):
        if folder.is_symlink():
            raise EnvironmentTampered(f"{folder} is a symbolic link")
        folder.mkdir(exist_ok=True)
    _write(
        target / "pyvenv.cfg",
        f"home = {base.parent}\n"
        "include-system-site-packages = false\n"
        f"version = {sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}\n",
    )
    python = bin_dir / "python"
    for name in ("python", "python3", PYTHON_DIR):
        link = bin_dir / name
        if link.is_symlink() and os.readlink(link) == str(base):
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(base)
    # `pip` in a terminal must install here, never into a layer beneath.
    _write(
        bin_dir / "pip",
        f"#!{python}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n",
        mode=0o755,
    )
    # addsitedir, not plain lines: each layer's own .pth files (editable installs) count.
    _write(own / LAYERS_FILE, f"import site; list(map(site.addsitedir, {json.dumps(layers)}))\n")
    return python


def settle_environment(prefix: Path, python: Path) -> None:
    """Make a built virtual environment's own description the platform's: its
    pyvenv.cfg names ``python``'s installation, and it lists no layers (a package could
    ship a layers file naming any folder of the host)."""
    own = site_packages(prefix)
    for folder in (prefix, prefix / "lib", own.parent, own):
        if folder.is_symlink() or not folder.is_dir():
            raise EnvironmentTampered(f"{folder} is not a folder the platform made")
    (own / LAYERS_FILE).unlink(missing_ok=True)
    _write(
        prefix / "pyvenv.cfg",
        f"home = {python.resolve().parent}\n"
        "include-system-site-packages = false\n"
        f"version = {sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}\n",
    )


class EnvironmentTampered(Exception):
    """An environment's folders are not what the platform made (a symbolic link where a
    folder was): it is not written to."""


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``path`` afresh, never through a symbolic link (O_NOFOLLOW: refused)."""
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(path, flags, mode), "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), mode)  # whatever the umask took away
        out.write(text)


def snapshot(environment: Path, destination: Path) -> int:
    """Copy what was installed into ``environment`` to ``destination`` (a new image
    layer); its size in bytes. Made beside the destination and renamed into place, so a
    half-copied layer never counts."""
    source = site_packages(environment)
    building = destination.with_name(destination.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.copytree(
        source,
        building,
        symlinks=True,
        ignore=shutil.ignore_patterns(LAYERS_FILE, "__pycache__"),
    )
    building.rename(destination)
    return sum(f.stat().st_size for f in destination.rglob("*") if f.is_file())


def layers_of(prefix: Path) -> list[str]:
    """The site-packages folders an environment runs from: its own, then those it stacks
    (a stacked one's layers file); the server's own for the server's environment."""
    if prefix.resolve() == Path(sys.prefix).resolve():
        return server_layers()
    own = site_packages(prefix)
    layers = [str(own)]
    stacked = own / LAYERS_FILE
    if stacked.is_file():
        text = stacked.read_text("utf-8", "replace")
        start, end = text.find("["), text.rfind("]")
        if start != -1 and end > start:
            layers += [str(p) for p in json.loads(text[start : end + 1])]
    return layers


def pins_of(layers: list[str]) -> list[str]:
    """``name==version`` of every distribution the layers hold (the first of a name
    wins, as on the path)."""
    pinned: dict[str, str] = {}
    for distribution in importlib.metadata.distributions(path=layers):
        name = distribution.metadata["Name"]
        if name and canonicalize_name(name) not in pinned:
            pinned[canonicalize_name(name)] = f"{name}=={distribution.version}"
    return sorted(pinned.values())
