"""The engine catalog: each training engine and the Python environment it runs in.

The built-in engine is the server's own interpreter: nothing to install, so a job on it
starts at once. The others are virtual environments made on first use, with their
packages pinned, and kept in a cache for every later job.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

BUILTIN_ID = "python-builtin"


@dataclass(frozen=True, slots=True)
class Engine:
    id: str
    name: str
    version: str
    # Pinned requirements installed into the engine's environment; none for built-in.
    packages: tuple[str, ...]
    description: str

    @property
    def builtin(self) -> bool:
        return not self.packages


def engine_catalog() -> list[Engine]:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return [
        Engine(
            BUILTIN_ID,
            "Python",
            f"python_{python}-builtin",
            (),
            "the server's own Python, with nothing installed beyond the standard library",
        ),
        Engine(
            "pytorch-2.13.0-cpu",
            "PyTorch",
            f"pytorch_2.13.0-cpu-py_{python}",
            ("torch==2.13.0",),
            "PyTorch 2.13.0 for CPUs (gloo for torch.distributed)",
        ),
        Engine(
            "scikit-learn-1.9.1",
            "Scikit_Learn",
            f"scikit-learn_1.9.1-py_{python}",
            ("scikit-learn==1.9.1",),
            "scikit-learn 1.9.1 with NumPy and SciPy",
        ),
    ]


def find_engine(
    catalog: list[Engine],
    *,
    engine_id: str | None = None,
    name: str | None = None,
    version: str | None = None,
) -> Engine | None:
    """The engine an ID, or a name and version, choose (names match case-insensitively,
    as users type them both ways)."""
    for engine in catalog:
        if engine_id is not None:
            if engine.id == engine_id:
                return engine
        elif (
            name is not None
            and engine.name.lower() == name.lower()
            and (version is None or engine.version == version)
        ):
            return engine
    return None
