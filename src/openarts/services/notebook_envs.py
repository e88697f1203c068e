"""Notebook environments: a small virtual environment per instance, stacked on its image.

An instance's environment is a PEP 405 virtual environment of its own (made by hand: it
is a config file and two links, so it costs milliseconds, not the ~200 ms of ``venv``),
whose site-packages holds only what the user installs; a ``.pth`` file stacks the image's
layers beneath it (saved images' packages, then the engine's and the server's own), so
JupyterLab, pip and the scientific basics are there without being copied. Saving the
instance as an image copies that site-packages into the image store as a new layer.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from openarts.domain.engines import Engine, find_engine
from openarts.domain.images import PresetImage
from openarts.services.engine_envs import EngineEnvironments, Progress

LAYERS_FILE = "_openarts_layers.pth"
PYTHON_DIR = f"python{sys.version_info.major}.{sys.version_info.minor}"


def site_packages(prefix: Path) -> Path:
    return prefix / "lib" / PYTHON_DIR / "site-packages"


def server_layers() -> list[str]:
    """The server's own site-packages (JupyterLab, pip, NumPy, pandas live there)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def jupyter_environment() -> dict[str, str]:
    """Where Jupyter finds its static files, kernel specs and server extensions: the
    server's prefix, not the instance's environment (which holds none of them)."""
    prefix = Path(sys.prefix)
    return {
        "JUPYTERLAB_DIR": str(prefix / "share" / "jupyter" / "lab"),
        "JUPYTER_PATH": str(prefix / "share" / "jupyter"),
        "JUPYTER_CONFIG_PATH": str(prefix / "etc" / "jupyter"),
    }


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


class NotebookEnvironments:
    def __init__(self, engines: list[Engine], engine_envs: EngineEnvironments) -> None:
        self.engines = engines
        self.engine_envs = engine_envs

    async def preset_layers(self, preset: PresetImage, progress: Progress) -> list[str]:
        """The layers of a preset image, preparing its engine first if it has one."""
        engine = find_engine(self.engines, engine_id=preset.engine_id)
        if engine is None:
            raise LookupError(f"image {preset.name} needs engine {preset.engine_id}, not here")
        if engine.builtin:
            return server_layers()
        interpreter = await self.engine_envs.ensure(engine, progress)
        prefix = Path(interpreter).parent.parent
        return [str(site_packages(prefix)), *server_layers()]


def environment_variables(environment: Path, home: Path) -> dict[str, str]:
    """A notebook's variables: its own environment first on PATH, its home as HOME."""
    system_path = os.environ.get("PATH", "/usr/bin:/bin")
    server_bin = str(Path(sys.prefix) / "bin")
    kept = [p for p in system_path.split(os.pathsep) if p and p != server_bin]
    return {
        "HOME": str(home),
        "PATH": os.pathsep.join([str(environment / "bin"), *kept]),
        "VIRTUAL_ENV": str(environment),
        **jupyter_environment(),
    }
