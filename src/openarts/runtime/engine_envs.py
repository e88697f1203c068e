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

# Keeps a pip that hangs (no index reachable, say) from holding a job in Creating forever.
BUILD_TIMEOUT_S = 1800.0
LOG_TAIL_CHARS = 2000

Progress = Callable[[str], Awaitable[None]]


class EngineBuildError(Exception):
    """An engine's environment could not be made; the message says why."""


class EngineEnvironments:
    def __init__(self, root: Path) -> None:
        self.root = root
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
        building.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        await progress(f"making the environment of engine {engine.id}")
        # The base interpreter, not the server's virtual environment: the engine gets
        # only its own packages.
        base = Path(sys.base_prefix) / "bin" / "python3"
        python = str(base if base.exists() else sys.executable)
        await run_logged(
            [python, "-m", "venv", str(building)], building.parent / f"{engine.id}.log"
        )
        await progress(f"installing {', '.join(engine.packages)} for engine {engine.id}")
        await run_logged(
            [
                str(building / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--no-input",
                "--disable-pip-version-check",
                *engine.packages,
            ],
            building.parent / f"{engine.id}.log",
        )
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


async def run_logged(argv: list[str], log_path: Path) -> None:
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        try:
            code = await asyncio.wait_for(process.wait(), BUILD_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise EngineBuildError(
                f"{argv[2] if len(argv) > 2 else argv[0]} took over {BUILD_TIMEOUT_S:.0f} s"
            ) from None
    if code != 0:
        text = await asyncio.to_thread(log_path.read_text, "utf-8", "replace")
        tail = text[-LOG_TAIL_CHARS:]
        raise EngineBuildError(f"{' '.join(argv[1:4])} failed with exit code {code}: {tail}")
