"""What a training job runs, resolved once at creation, and where its files go on a node.

The layout follows what ModelArts code expects (see MODELARTS-CONVENTIONS.md, section 1)
with every path under the task's own folder instead of /home/ma-user: code in
``$MA_JOB_DIR/<last folder of code_dir>``, inputs and outputs in
``$MA_MOUNT_PATH/inputs/<name>_0`` and ``…/outputs/<name>_0``.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from openarts.compat import COMPAT_PATH


class Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    obs_url: str  # obs://bucket/key: a folder when it ends with "/", else one object


class Plan(BaseModel):
    """Everything the runtime needs of a job; stored as JSON on the job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code_dir: str | None = None  # obs://bucket/prefix/
    boot_file: str | None = None  # relative to code_dir
    command: str | None = None
    engine_id: str | None = None
    image_url: str | None = None
    # A saved image (its id and the package layers its environment stacks, in order),
    # when image_url names one: the job runs in an environment made over those layers.
    image_id: str | None = None
    image_layers: list[str] = Field(default_factory=list)
    parameters: list[tuple[str, str]] = Field(default_factory=list)
    inputs: list[Channel] = Field(default_factory=list)
    outputs: list[Channel] = Field(default_factory=list)
    environments: dict[str, str] = Field(default_factory=dict)
    flavor: str
    vcpus: float
    memory_bytes: int
    gpus: int = 0
    node_count: int = 1
    pool_id: str = ""
    log_export_path: str | None = None

    @property
    def code_folder(self) -> str:
        """The last folder of code_dir: the name the code gets under MA_JOB_DIR."""
        assert self.code_dir is not None
        return self.code_dir.rstrip("/").rsplit("/", 1)[-1]


def task_name(rank: int) -> str:
    return f"worker-{rank}"


def vj_name(job_id: str) -> str:
    return f"modelarts-job-{job_id}"


@dataclass(frozen=True, slots=True)
class TaskDirs:
    """One task's folders for one attempt of a job."""

    home: Path  # MA_HOME

    @property
    def mount(self) -> Path:  # MA_MOUNT_PATH
        return self.home / "modelarts"

    @property
    def job_dir(self) -> Path:  # MA_JOB_DIR
        return self.mount / "user-job-dir"

    @property
    def log_dir(self) -> Path:  # MA_LOG_DIR
        return self.mount / "log"

    @property
    def cache(self) -> Path:  # plays /cache
        return self.home / "cache"

    def code(self, plan: Plan) -> Path:
        return self.job_dir / plan.code_folder

    def input(self, name: str) -> Path:
        return self.mount / "inputs" / f"{name}_0"

    def output(self, name: str) -> Path:
        return self.mount / "outputs" / f"{name}_0"

    def all(self, plan: Plan) -> list[Path]:
        """Every folder to make before the task starts."""
        folders = [self.job_dir, self.log_dir, self.cache]
        folders += [self.input(c.name) for c in plan.inputs]
        folders += [self.output(c.name) for c in plan.outputs]
        if plan.code_dir is not None:
            folders.append(self.code(plan))
        return folders


def job_environment(root: Path, job_id: str) -> Path:
    """The environment of a job started from a saved image (one for all its attempts)."""
    return root / job_id / "env"


def task_dirs(root: Path, job_id: str, attempt: int, rank: int) -> TaskDirs:
    return TaskDirs(root / job_id / str(attempt) / task_name(rank))


def task_command(plan: Plan, dirs: TaskDirs, interpreter: str) -> tuple[list[str], Path]:
    """The argv and working directory of a task: the boot file run by the engine's
    interpreter, hyperparameters and channels as ``--name=value``; or the command."""
    channels = [f"--{c.name}={dirs.input(c.name)}" for c in plan.inputs]
    channels += [f"--{c.name}={dirs.output(c.name)}" for c in plan.outputs]
    parameters = [f"--{name}={value}" for name, value in plan.parameters]
    if plan.boot_file is not None:
        code = dirs.code(plan)
        return [interpreter, str(code / plan.boot_file), *parameters, *channels], code
    assert plan.command is not None
    # A command is one shell line (the reference joins steps with ; or &&); the
    # parameters and channels follow it, as the platform appends them.
    line = " ".join([plan.command, *(shlex.quote(a) for a in (*parameters, *channels))])
    workdir = dirs.code(plan) if plan.code_dir is not None else dirs.job_dir
    return ["/bin/sh", "-c", line], workdir


def task_environment(
    plan: Plan, dirs: TaskDirs, *, job_id: str, rank: int, interpreter: str
) -> dict[str, str]:
    """The variables a ModelArts training container sets, true for where this task runs
    (the hosts and the rendezvous port are added when the task is placed)."""
    env = {
        "PATH": f"{Path(interpreter).parent}:{os.defpath}",
        "HOME": str(dirs.home),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        # The code's folder's parent, and moxing (openarts/compat).
        "PYTHONPATH": os.pathsep.join([str(dirs.job_dir), COMPAT_PATH]),
        "MA_HOME": str(dirs.home),
        "MA_MOUNT_PATH": str(dirs.mount),
        "MA_JOB_DIR": str(dirs.job_dir),
        "MA_LOG_DIR": str(dirs.log_dir),
        "WORKSPACE": str(dirs.code(plan) if plan.code_dir else dirs.job_dir),
        "MA_SCRIPT_INTERPRETER": "",
        "MA_NUM_HOSTS": str(plan.node_count),
        "VC_WORKER_NUM": str(plan.node_count),
        "MA_NUM_GPUS": str(plan.gpus),
        "VC_TASK_INDEX": str(rank),
        "MA_TASK_NAME": "worker",
        "MA_VJ_NAME": vj_name(job_id),
        "MA_CURRENT_INSTANCE_NAME": f"{vj_name(job_id)}-{task_name(rank)}",
        "RANK": str(rank),
        "NODE_RANK": str(rank),
        "WORLD_SIZE": str(plan.node_count),
        "LOCAL_RANK": "0",
        "LOCAL_WORLD_SIZE": "1",
    }
    for channel in plan.inputs:
        env[channel.name] = str(dirs.input(channel.name))
    for channel in plan.outputs:
        env[channel.name] = str(dirs.output(channel.name))
    env.update(plan.environments)
    return env


def placement_environment(hosts: list[str], rank: int, port: int) -> dict[str, str]:
    """The variables that depend on where the gang landed: every host in rank order,
    this task's address, and the rendezvous point (rank 0's host)."""
    return {
        "VC_WORKER_HOSTS": ",".join(hosts),
        "MA_CURRENT_IP": hosts[rank],
        "MASTER_ADDR": hosts[0],
        "MASTER_PORT": str(port),
    }
