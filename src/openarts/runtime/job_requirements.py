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
import importlib.metadata
import json
import shutil
import sys
from pathlib import Path

from openarts.backends.sandbox import LAYERS_FILE
from openarts.runtime.engine_envs import EngineBuildError, Progress
from openarts.runtime.env_builds import EnvironmentBuilder, pip_install
from openarts.runtime.stacked_envs import make_environment, server_layers, site_packages

# ModelArts' name first: where both are there, it is the one installed.
REQUIREMENT_FILES = ("pip-requirements.txt", "requirements.txt")
# A requirements file is a short list; a larger one is not one.
MAX_REQUIREMENTS_BYTES = 64 * 1024
READY_MARK = ".ready"
# The build's inputs, inside the folder it may write (the only one of the host it sees
# beside the system and the layers beneath).
INPUTS = ".openarts-build"


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
        layers = await asyncio.to_thread(_layers_of, base)
        # A folder without its mark is a build cut short: made again from nothing.
        await asyncio.to_thread(shutil.rmtree, target, True)
        python = await asyncio.to_thread(make_environment, target, layers)
        inputs = target / INPUTS
        pins = await asyncio.to_thread(_pins, layers)
        await asyncio.to_thread(_write_inputs, inputs, text, pins)
        await progress(f"installing the packages of {name} over the engine's ({len(pins)} held)")
        log_path = self.root / f"{target.name}.log"
        try:
            await self.builder.run(
                pip_install(
                    python,
                    *("-r", str(inputs / "requirements.txt")),
                    *("-c", str(inputs / "constraints.txt")),
                ),
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


def _layers_of(prefix: Path) -> list[str]:
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


def _pins(layers: list[str]) -> list[str]:
    """``name==version`` of every distribution the layers hold (the first of a name
    wins, as on the path)."""
    pinned: dict[str, str] = {}
    for distribution in importlib.metadata.distributions(path=layers):
        name = distribution.metadata["Name"]
        if name and name.lower() not in pinned:
            pinned[name.lower()] = f"{name}=={distribution.version}"
    return sorted(pinned.values())


def _write_inputs(folder: Path, text: str, pins: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(text, "utf-8")
    (folder / "constraints.txt").write_text("\n".join(pins) + "\n", "utf-8")
    for path in (folder, folder / "requirements.txt", folder / "constraints.txt"):
        path.chmod(0o755 if path.is_dir() else 0o644)
