"""Old module names ModelArts code imports work in a task's Python (openarts/compat's
sitecustomize, on every task's PYTHONPATH)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from openarts.compat import COMPAT_PATH


def test_sklearn_externals_joblib_is_joblib() -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("joblib")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sklearn.externals import joblib\n"
            "import joblib as real\n"
            "print(joblib is real, hasattr(joblib, 'dump'))",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": COMPAT_PATH},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
