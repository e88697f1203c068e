"""Modules a start does not need are loaded at their first use, once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from openarts.lazy import lazy_import


def test_a_lazy_module_runs_at_its_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = tmp_path / "loads"
    loads.write_text("")
    (tmp_path / "slow_to_load.py").write_text(
        f"with open({str(loads)!r}, 'a') as mark:\n    mark.write('x')\nVALUE = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_to_load", raising=False)
    module = lazy_import("slow_to_load")
    assert loads.read_text() == ""
    assert module.VALUE == 42
    assert lazy_import("slow_to_load").VALUE == 42
    assert loads.read_text() == "x"


def test_a_missing_module_fails_at_once() -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        lazy_import("no_such_module_here")
