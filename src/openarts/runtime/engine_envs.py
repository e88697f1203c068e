"""Engine environments: a virtual environment per engine, made on first use and kept.

An environment is built in a temporary folder and renamed into place only when every
package installed, so a half-made one is never used; one build per engine at a time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from openarts.domain.engines import Engine
from openarts.runtime.env_builds import EngineBuildError, EnvironmentBuilder
from openarts.runtime.stacked_envs import settle_environment

__all__ = ["EngineBuildError", "EngineEnvironments", "Progress"]

Progress = Callable[[str], Awaitable[None]]


class EngineEnvironments:
    def __init__(self, root: Path, builder: EnvironmentBuilder) -> None:
        self.root = root
        self.builder = builder
        self._locks: dict[str, asyncio.Lock] = {}

    def interpreter(self, engine: Engine) -> str | None:
        """The engine's Python, or None while its environment is not made yet."""
        if engine.builtin:
            return sys.executable
        python = self.root / engine.id / "bin" / "python"
        return str(python) if python.exists() else None

    async def ensure(self, engine: Engine, progress: Progress) -> str:
        """Make the engine's environment unless it exists; its interpreter."""
        ready = self.interpreter(engine)
        if ready is not None:
            return ready
        lock = self._locks.setdefault(engine.id, asyncio.Lock())
        async with lock:
            ready = self.interpreter(engine)
            if ready is None:
                await self._build(engine, progress)
                ready = self.interpreter(engine)
            if ready is None:
                raise EngineBuildError(f"engine {engine.id}: its environment has no python")
            return ready

    async def _build(self, engine: Engine, progress: Progress) -> None:
        final = self.root / engine.id
        # Its own folder per process: servers may share the cache.
        building = self.root / f".{engine.id}.{os.getpid()}.building"
        await asyncio.to_thread(shutil.rmtree, building, True)
        await asyncio.to_thread(building.mkdir, parents=True)
        log_path = building.parent / f"{engine.id}.log"
        started = time.monotonic()
        await progress(f"making the environment of engine {engine.id}")
        # The base interpreter, not the server's virtual environment: the engine gets
        # only its own packages.
        base = Path(sys.base_prefix) / "bin" / "python3"
        python = base if base.exists() else Path(sys.executable)
        try:
            await self.builder.run([str(python), "-m", "venv", str(building)], building, log_path)
            await progress(f"installing {', '.join(engine.packages)} for engine {engine.id}")
            await self.builder.run(
                [
                    str(building / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--no-input",
                    "--disable-pip-version-check",
                    *engine.packages,
                ],
                building,
                log_path,
            )
            # What the sandbox reads to know what a task using it sees is the
            # platform's again, whatever the build wrote.
            await asyncio.to_thread(settle_environment, building, python)
            await self.builder.seal(building)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, building, True)
            raise
        try:
            await asyncio.to_thread(building.rename, final)
        except OSError:
            if not final.exists():
                raise
            # Another server made it meanwhile: theirs is as good as ours.
            await asyncio.to_thread(shutil.rmtree, building, True)
        await progress(
            f"engine {engine.id} is ready ({time.monotonic() - started:.0f} s to prepare)"
        )
