"""A training job's own packages: the ``pip-requirements.txt`` (or ``requirements.txt``)
of its code folder, installed over its engine before its boot file runs, as ModelArts
does at a job's start.

What it installs is a stacked environment (runtime/stacked_envs.py) over the engine's
packages, named by the engine and the file's content, so jobs asking for the same share
it and a second job starts at once. The install is held to what the engine holds (a pip
constraints file of every distribution in it): a requirement can add packages, never
replace the engine's torch with another build nor pull CUDA wheels onto a CPU engine; one
that asks for another version of an engine's package fails, saying which.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sys
from pathlib import Path

from openarts.runtime.engine_envs import EngineBuildError, Progress
from openarts.runtime.env_builds import EnvironmentBuilder, held_install, write_build_inputs
from openarts.runtime.stacked_envs import layers_of, make_environment, pins_of

# ModelArts' name first: where both are there, it is the one installed.
REQUIREMENT_FILES = ("pip-requirements.txt", "requirements.txt")
# A requirements file is a short list; a larger one is not one.
MAX_REQUIREMENTS_BYTES = 64 * 1024
READY_MARK = ".ready"


def requirements_in(code: Path) -> tuple[str, str] | None:
    """(file name, text) of the code folder's requirements file, or None."""
    for name in REQUIREMENT_FILES:
        path = code / name
        if path.is_file() and not path.is_symlink():
            if path.stat().st_size > MAX_REQUIREMENTS_BYTES:
                raise EngineBuildError(
                    f"{name} is over {MAX_REQUIREMENTS_BYTES // 1024} KiB: not a requirements file"
                )
            text = path.read_text("utf-8", "replace")
            lines = [line.strip() for line in text.splitlines()]
            if any(line and not line.startswith("#") for line in lines):
                return name, text
            return None  # only comments: nothing to install
    return None


class RequirementLayers:
    def __init__(self, root: Path, builder: EnvironmentBuilder) -> None:
        self.root = root
        self.builder = builder
        self._locks: dict[str, asyncio.Lock] = {}

    async def ensure(self, interpreter: str, name: str, text: str, progress: Progress) -> str:
        """The Python of ``interpreter``'s environment with ``text`` installed over it,
        made unless it exists."""
        base = Path(interpreter).parent.parent
        key = hashlib.sha256(json.dumps([str(base), text]).encode()).hexdigest()[:24]
        target = self.root / key
        python = target / "bin" / "python"
        if (target / READY_MARK).exists():
            return str(python)
        async with self._locks.setdefault(key, asyncio.Lock()):
            if not (target / READY_MARK).exists():
                await self._build(base, target, name, text, progress)
        return str(python)

    async def _build(
        self, base: Path, target: Path, name: str, text: str, progress: Progress
    ) -> None:
        layers = await asyncio.to_thread(layers_of, base)
        # A folder without its mark is a build cut short: made again from nothing.
        await asyncio.to_thread(shutil.rmtree, target, True)
        python = await asyncio.to_thread(make_environment, target, layers)
        pins = await asyncio.to_thread(pins_of, layers)
        inputs = await asyncio.to_thread(write_build_inputs, target, text, pins)
        await progress(f"installing the packages of {name} over the engine's ({len(pins)} held)")
        log_path = self.root / f"{target.name}.log"
        try:
            await self.builder.run(
                held_install(python, inputs),
                target,
                log_path,
            )
            await asyncio.to_thread(shutil.rmtree, inputs, True)
            # What the sandbox reads to know what a task sees is the platform's again.
            await asyncio.to_thread(make_environment, target, layers)
            await self.builder.seal(target)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, target, True)
            raise
        await asyncio.to_thread((target / READY_MARK).write_text, sys.version, "utf-8")
        await progress(f"the packages of {name} are installed")
