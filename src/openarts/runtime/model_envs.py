"""Model environments: a runtime's environment with a model's dependencies on top.

Each is a stacked environment (runtime/stacked_envs.py) over the runtime engine's
packages and the model server's layer (runtime/model_server_layer.py), never the
server's own packages: a model sees its runtime, its dependencies and the model server,
nothing that merely happens to be installed beside the platform. The model's
``dependencies`` are pip-installed into its own site-packages, held to what lies
beneath (a constraints file: a dependency naming torchvision adds it, never another
torch, nor CUDA's wheels onto a CPU runtime; one asking for another version of a
runtime's package fails, saying which). It is named by what it holds
(domain.models.environment_key), so models asking for the same share one; it counts as
made only once its ``.ready`` mark is written, after every package installed.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from openarts.domain.engines import Engine, find_engine
from openarts.domain.models import ModelRuntime, environment_key
from openarts.runtime.engine_envs import EngineBuildError, EngineEnvironments, Progress
from openarts.runtime.env_builds import held_install, write_build_inputs
from openarts.runtime.model_server_layer import (
    ModelServerUnavailable,
    ensure_layer,
    layer_name,
)
from openarts.runtime.stacked_envs import make_environment, pins_of, site_packages

READY_MARK = ".ready"


class ModelEnvironments:
    def __init__(
        self,
        root: Path,
        engines: list[Engine],
        engine_envs: EngineEnvironments,
        server_layers: Path,
    ) -> None:
        self.root = root
        # Where the model server's layers are (one per version of the server).
        self.server_layers = server_layers
        self.engines = engines
        self.engine_envs = engine_envs
        self._locks: dict[str, asyncio.Lock] = {}

    def python_of(self, key: str) -> Path:
        """The Python of environment ``key`` (made: its model was published)."""
        return self.root / key / "bin" / "python"

    def interpreter(self, key: str) -> str | None:
        """The Python of environment ``key``, or None while it is not made."""
        folder = self.root / key
        if not (folder / READY_MARK).exists():
            return None
        return str(folder / "bin" / "python")

    async def ensure(
        self, runtime: ModelRuntime, requirements: list[str], progress: Progress
    ) -> tuple[str, str]:
        """Make the environment unless it exists; its key and interpreter."""
        try:
            server = await asyncio.to_thread(layer_name)
        except ModelServerUnavailable as error:
            raise EngineBuildError(str(error)) from None
        key = environment_key(runtime, requirements, server)
        ready = await asyncio.to_thread(self.interpreter, key)
        if ready is not None:
            return key, ready
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            ready = await asyncio.to_thread(self.interpreter, key)
            if ready is None:
                await self._build(key, runtime, requirements, progress)
                ready = await asyncio.to_thread(self.interpreter, key)
            if ready is None:
                raise EngineBuildError(f"environment {key} has no python after it was made")
            return key, ready

    async def _layers(self, runtime: ModelRuntime, progress: Progress) -> list[str]:
        engine = find_engine(self.engines, engine_id=runtime.engine_id)
        if engine is None:
            raise EngineBuildError(f"runtime {runtime.name} needs engine {runtime.engine_id}")
        try:
            server = str(await asyncio.to_thread(ensure_layer, self.server_layers))
        except (ModelServerUnavailable, OSError) as error:
            raise EngineBuildError(f"the model server's layer could not be made: {error}") from None
        if engine.builtin:
            return [server]
        interpreter = await self.engine_envs.ensure(engine, progress)
        # The runtime's packages first: what the model imports is the runtime's.
        return [str(site_packages(Path(interpreter).parent.parent)), server]

    async def _build(
        self, key: str, runtime: ModelRuntime, requirements: list[str], progress: Progress
    ) -> None:
        target = self.root / key
        layers = await self._layers(runtime, progress)
        # A folder without its mark is a build cut short: made again from nothing.
        await asyncio.to_thread(shutil.rmtree, target, True)
        python = await asyncio.to_thread(make_environment, target, layers)
        if requirements:
            # The runtime's own versions (the layers but the model server's last one: a
            # custom server never uses what the model server runs on).
            pins = await asyncio.to_thread(pins_of, layers[:-1])
            await progress(
                f"installing {', '.join(requirements)} for runtime {runtime.name} "
                f"({len(pins)} packages of the runtime held)"
            )
            try:
                inputs = await asyncio.to_thread(
                    write_build_inputs, target, "\n".join(requirements) + "\n", pins
                )
                await self.engine_envs.builder.run(
                    held_install(python, inputs), target, self.root / f"{key}.log"
                )
                await asyncio.to_thread(shutil.rmtree, inputs, True)
                # What the sandbox reads to know what a task using it sees (the layers,
                # pyvenv.cfg's home) is the platform's again, whatever the build wrote.
                await asyncio.to_thread(make_environment, target, layers)
                await self.engine_envs.builder.seal(target)
            except BaseException:
                await asyncio.to_thread(shutil.rmtree, target, True)
                raise
        await asyncio.to_thread((target / READY_MARK).write_text, sys.version, "utf-8")
        await progress(f"the environment of runtime {runtime.name} is ready")
