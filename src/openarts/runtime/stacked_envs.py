"""Stacked environments: a small PEP 405 virtual environment over layers of packages.

Made by hand (a config file and a few links: milliseconds, not the ~200 ms of ``venv``);
its own site-packages holds only what is installed into it, and a ``.pth`` file stacks
the layers beneath it (saved images' packages, then an engine's, then the server's own),
so nothing is copied. Notebook instances run in one; so does a training job started from
a saved image.
"""

from __future__ import annotations

import json
import shutil
import sys
import sysconfig
from pathlib import Path

LAYERS_FILE = "_openarts_layers.pth"
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
    own.mkdir(parents=True, exist_ok=True)
    bin_dir.mkdir(parents=True, exist_ok=True)
    (target / "pyvenv.cfg").write_text(
        f"home = {base.parent}\n"
        "include-system-site-packages = false\n"
        f"version = {sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}\n",
        "utf-8",
    )
    python = bin_dir / "python"
    for name in ("python", "python3", PYTHON_DIR):
        link = bin_dir / name
        if not link.is_symlink():
            link.symlink_to(base)
    # `pip` in a terminal must install here, never into a layer beneath.
    pip = bin_dir / "pip"
    pip.write_text(
        f"#!{python}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n",
        "utf-8",
    )
    pip.chmod(0o755)
    # addsitedir, not plain lines: each layer's own .pth files (editable installs) count.
    (own / LAYERS_FILE).write_text(
        f"import site; list(map(site.addsitedir, {json.dumps(layers)}))\n", "utf-8"
    )
    return python


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
