"""Notebook environments: a stacked environment (runtime/stacked_envs.py) per instance.

The instance's own site-packages holds only what the user installs; the image's layers
beneath it bring JupyterLab, pip and the scientific basics without copying them. Saving
the instance as an image copies that site-packages into the image store as a new layer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from openarts.compat import COMPAT_PATH
from openarts.domain.engines import Engine, find_engine
from openarts.domain.images import PresetImage
from openarts.runtime.engine_envs import EngineEnvironments, Progress
from openarts.runtime.stacked_envs import server_layers, site_packages


def jupyter_environment() -> dict[str, str]:
    """Where Jupyter finds its static files, kernel specs and server extensions: the
    server's prefix, not the instance's environment (which holds none of them)."""
    prefix = Path(sys.prefix)
    return {
        "JUPYTERLAB_DIR": str(prefix / "share" / "jupyter" / "lab"),
        "JUPYTER_PATH": str(prefix / "share" / "jupyter"),
        "JUPYTER_CONFIG_PATH": str(prefix / "etc" / "jupyter"),
    }


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
        # moxing, which ModelArts' notebooks import.
        "PYTHONPATH": COMPAT_PATH,
        **jupyter_environment(),
    }
