"""Engine environments: a virtual environment per engine, made on first use and kept.

An environment is built in a temporary folder and renamed into place only when every
package installed, so a half-made one is never used; one build per engine at a time.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from openarts.domain.engines import Engine
from openarts.runtime.env_builds import EngineBuildError, EnvironmentBuilder, pip_install
from openarts.runtime.stacked_envs import settle_environment

__all__ = ["EngineBuildError", "EngineEnvironments", "Progress"]

Progress = Callable[[str], Awaitable[None]]

# In an engine's environment: the extras it was made without, and why.
MISSING_FILE = "openarts-missing.json"


class EngineEnvironments:
    def __init__(self, root: Path, builder: EnvironmentBuilder) -> None:
        self.root = root
        self.builder = builder
        self._locks: dict[str, asyncio.Lock] = {}

    def interpreter(self, engine: Engine) -> str | None:
        """The engine's Python, or None while its environment is not made yet."""
        if engine.builtin:
            return sys.executable
        python = self.root / engine.folder / "bin" / "python"
        return str(python) if python.exists() else None

    async def ensure(self, engine: Engine, progress: Progress) -> str:
        """Make the engine's environment unless it exists; its interpreter."""
        ready = self.interpreter(engine)
        if ready is not None:
            return ready
        lock = self._locks.setdefault(engine.folder, asyncio.Lock())
        async with lock:
            ready = self.interpreter(engine)
            if ready is None:
                # Homes (servers, test workers) may share the cache: one builds, the
                # others wait for it and use what it made.
                async with _machine_lock(self.root / f".{engine.folder}.lock", engine, progress):
                    ready = self.interpreter(engine)
                    if ready is None:
                        await self._build(engine, progress)
                        ready = self.interpreter(engine)
            if ready is None:
                raise EngineBuildError(f"engine {engine.id}: its environment has no python")
            return ready

    def missing(self, engine: Engine) -> dict[str, str]:
        """The engine's extras its environment was made without, and why."""
        try:
            text = (self.root / engine.folder / MISSING_FILE).read_text("utf-8")
        except OSError:
            return {}
        found = json.loads(text)
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    async def _extras(
        self, engine: Engine, building: Path, log_path: Path, progress: Progress
    ) -> dict[str, str]:
        """Install each of the engine's extras where it can be; those that cannot, and
        why (the last error pip gave)."""
        missing: dict[str, str] = {}
        for requirement in engine.extras:
            index = ["--extra-index-url", engine.extra_index] if engine.extra_index else []
            try:
                await self.builder.run(
                    pip_install(
                        building / "bin" / "python",
                        *("--retries", "1", "--timeout", "15"),
                        *index,
                        requirement,
                    ),
                    building,
                    log_path,
                )
            except EngineBuildError as error:
                missing[requirement] = _why_not(str(error), engine.extra_index)
                why = missing[requirement]
                await progress(
                    f"engine {engine.id} is made without {requirement}: {why} (code that "
                    "imports it fails here)"
                )
        return missing

    async def _build(self, engine: Engine, progress: Progress) -> None:
        final = self.root / engine.folder
        # Its own folder per process: servers may share the cache.
        building = self.root / f".{engine.folder}.{os.getpid()}.building"
        await asyncio.to_thread(shutil.rmtree, building, True)
        await asyncio.to_thread(building.mkdir, parents=True)
        log_path = building.parent / f"{engine.folder}.log"
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
                pip_install(building / "bin" / "python", *engine.packages), building, log_path
            )
            missing = await self._extras(engine, building, log_path, progress)
            await asyncio.to_thread(
                (building / MISSING_FILE).write_text, json.dumps(missing), "utf-8"
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


def _why_not(said: str, index: str) -> str:
    """What pip's output says of why a package was not installed: its first error, and
    whether the extra index could not be reached at all."""
    errors = [line.removeprefix("ERROR: ") for line in said.splitlines() if "ERROR:" in line]
    why = errors[0] if errors else said[-300:]
    where = urlsplit(index)
    marks = ("NameResolutionError", "Failed to establish", "Max retries exceeded")
    names = [n for n in (where.hostname, where.path.rstrip("/")) if n]
    for line in said.splitlines():
        if any(m in line for m in marks) and any(n in line for n in names):
            return f"{why} ({index} could not be reached)"
    return why


# How often a server waiting for another's build of an engine looks again.
LOCK_POLL_S = 0.5


@asynccontextmanager
async def _machine_lock(path: Path, engine: Engine, progress: Progress) -> AsyncIterator[None]:
    """Held by one process of the machine at a time (a lock file's flock), waited for
    without holding a thread."""
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    await progress(f"waiting for another server's build of engine {engine.id}")
                    said = True
                await asyncio.sleep(LOCK_POLL_S)
        yield
    finally:
        os.close(fd)  # releases the lock
