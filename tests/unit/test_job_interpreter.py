"""The Python a job's pip-requirements are installed over is the platform's choice (what
its sandbox shows), never what the job's own variables say."""

from __future__ import annotations

from pathlib import Path

from openarts.backends.base import TaskSpec
from openarts.domain.sandbox_view import TaskView
from openarts.runtime.training_staging import _interpreter_of, _with_interpreter

ENGINE = "/cache/engines/pytorch/bin/python"
LAYER = "/home/job-envs/abc/bin/python"


def _spec(path: str) -> TaskSpec:
    view = TaskView(uid=2_000_001, hostname="t", software=(ENGINE,))
    return TaskSpec("t-0", (ENGINE, "/code/train.py"), Path("/code"), env={"PATH": path}, view=view)


def test_a_path_the_user_set_does_not_choose_the_engine() -> None:
    spec = _spec("/elsewhere/another-projects-env/bin:/usr/bin")
    assert _interpreter_of(spec) == ENGINE
    moved = _with_interpreter(spec, LAYER)
    assert moved.command[0] == LAYER and moved.view is not None
    assert moved.view.software == (LAYER,)
    # A PATH of the user's own, without the engine's folder, stays theirs.
    assert moved.env["PATH"] == "/elsewhere/another-projects-env/bin:/usr/bin"


def test_the_engines_folder_on_path_becomes_the_new_environments() -> None:
    moved = _with_interpreter(_spec("/cache/engines/pytorch/bin:/usr/bin"), LAYER)
    assert moved.env["PATH"] == "/home/job-envs/abc/bin:/usr/bin"
