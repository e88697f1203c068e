"""The layer order of docs/architecture.md holds: import-linter checks the contracts in
pyproject.toml against every import of the package."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the contracts must keep saying; removing one to make an import pass fails here.
CONTRACTS = {"layers", "faces-use-cases", "one-builder", "model-server", "no-loops"}


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(command), "--no-cache", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_contract_is_kept() -> None:
    done = lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_are_all_there() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    assert {contract["id"] for contract in contracts} >= CONTRACTS
    layers = next(c for c in contracts if c["id"] == "layers")["layers"]
    # The composition root above the faces, the faces above the loops, the loops above
    # the use cases, the use cases above the drivers.
    order = [layer.split(" |")[0] for layer in layers]
    assert order.index("server") < order.index("api") < order.index("reconcile")
    assert order.index("reconcile") < order.index("runtime") < order.index("services")
    assert order.index("services") < order.index("schemas") < order.index("backends")
