"""Modules loaded when first used, not when the server starts.

A start pays for every module it imports (the aim is under a second to /health); a
library that only some requests need (aiohttp: the notebook proxy and the services'
probes) is put in ``sys.modules`` as a lazy module and runs its code at the first
attribute read, with the standard library's ``importlib.util.LazyLoader``.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
