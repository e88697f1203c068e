"""Run at the start of every task's Python (openarts/compat is on its ``PYTHONPATH``): the
old module names ModelArts code still imports, served by where the modules live now.

``from sklearn.externals import joblib`` opens nearly every scikit-learn
``customize_service.py`` written for ModelArts' older runtimes; scikit-learn has not
shipped that module since 0.23. The alias is looked up last, so a package that still has
the old module keeps its own.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

ALIASES = {"sklearn.externals.joblib": "joblib"}


class _Aliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in ALIASES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(ALIASES[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing: the module is the one aliased, already run."""


sys.meta_path.append(_Aliases())
