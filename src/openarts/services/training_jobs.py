"""Training jobs: creating (everything checked and resolved into a plan), reading,
searching, terminating, deleting, and the one function that changes a job's phase."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts import errors
from openarts.db.lookups import not_for_lookup
from openarts.db.tables import TrainingJob
from openarts.domain.capacity import HostNode
from openarts.domain.engines import Engine, EngineChoice, find_engine
from openarts.domain.events import EventType
from openarts.domain.flavors import FlavorUse
from openarts.domain.identity import Caller
from openarts.domain.images import ImageStatus
from openarts.domain.registry import WHOLE_REFERENCE
from openarts.domain.sandbox_view import MA_HOME, Mount, TaskView
from openarts.domain.scheduling import Resources
from openarts.domain.training import (
    ALLOWED_MOVES,
    MAX_NODE_COUNT,
    SECONDARY_OF,
    WORKLOAD_KIND,
    JobPhase,
    SecondaryPhase,
    retries_allowed,
)
from openarts.domain.training_plan import (
    Channel,
    Plan,
    TaskDirs,
    job_environment,
    task_command,
    task_dirs,
    task_environment,
    task_name,
    vj_name,
)
from openarts.errors import OpenArtsError
from openarts.ids import new_uuid, now_ms
from openarts.schemas.algorithms import AlgorithmEngineIn
from openarts.schemas.training_jobs import JobAlgorithmIn, JobEngineWire, TrainingJobCreateIn
from openarts.services import algorithms as algorithm_service
from openarts.services import authorizations, identity, registry_images
from openarts.services import images as image_service
from openarts.services import pools as pool_service
from openarts.services import training_specs as specs
from openarts.services import workloads as workload_service
from openarts.services.events import record_event_sync
from openarts.services.flavors import FlavorCatalog
from openarts.services.hints import Hint, hint
from openarts.services.paging import Page, page_from_either_end
from openarts.services.resource_counts import TRAINING_JOBS, add_to_count, count_of_kind
from openarts.services.transitions import Recorded, transition

GIB = 1 << 30


class EngineInterpreters(Protocol):
    """Which engines' environments are made already (the training loop makes the others)."""

    def interpreter(self, engine: Engine) -> str | None: ...

    def missing(self, engine: Engine) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class TrainingPlatform:
    """What the training services need of the running server."""

    catalog: FlavorCatalog
    engines: list[Engine]
    envs: EngineInterpreters
    root: Path  # where tasks' folders go
    # Tasks run in sandboxes (backends/sandbox.py): they see ModelArts' paths, not ours.
    sandboxed: bool = False
    # Container images run here (backends/images.py, in the sandbox); else why not.
    images: bool = False
    images_reason: str = "container images are not run here"
    # The platform's registry (host:port), whose images a project uses only from its own
    # namespaces; None when none runs.
    registry_address: str | None = None


# A boot file in a container image runs with the image's Python 3 (ModelArts' custom
# images have one; a command may name any other).
IMAGE_PYTHON = "/usr/bin/python3"


def not_found(job_id: str) -> OpenArtsError:
    return OpenArtsError(errors.TRAINING_JOB_NOT_FOUND, f"Training job {job_id} not found.")


# -- creating -------------------------------------------------------------------------------
async def create_job(
    session: AsyncSession,
    training: TrainingPlatform,
    caller: Caller,
    body: TrainingJobCreateIn,
    hosts: list[HostNode],
) -> TrainingJob:
    await authorizations.require_authorization(
        session, project_id=caller.project_id, user_id=caller.user_id
    )
    if body.kind != "job":
        raise specs.bad(f"kind {body.kind} is not supported here: only job")
    if body.tasks:
        raise specs.bad("tasks is not supported: describe the job with algorithm and spec")
    annotations = {k: str(v) for k, v in (body.metadata.annotations or {}).items()}
    try:
        retries_allowed(annotations)
    except ValueError as error:
        raise specs.bad(str(error)) from None
    taken = await session.scalar(
        select(TrainingJob.id).where(
            TrainingJob.project_id == caller.project_id, TrainingJob.name == body.metadata.name
        )
    )
    if taken is not None:
        raise OpenArtsError(
            errors.TRAINING_JOB_EXISTS, f"A training job named {body.metadata.name} exists."
        )
    plan, view, algorithm_id, engine = await _resolve(session, training, caller, body, hosts)
    now = now_ms()
    job = TrainingJob(
        id=new_uuid(),
        project_id=caller.project_id,
        name=body.metadata.name,
        kind=body.kind,
        description=body.metadata.description or "",
        workspace_id=body.metadata.workspace_id or "0",
        user_id=caller.user_id,
        user_name=caller.user_name,
        annotations=json.dumps(annotations),
        algorithm_id=algorithm_id,
        plan=plan.model_dump_json(),
        view=json.dumps(view),
        phase=JobPhase.CREATING.value,
        secondary_phase=SecondaryPhase.CREATING.value,
        reason="",
        desired="run",
        attempt=0,
        created_at=now,
    )
    session.add(job)
    try:
        await session.flush()
    except IntegrityError:
        # Another create of the same name got in between the check above and here.
        raise OpenArtsError(
            errors.TRAINING_JOB_EXISTS, f"A training job named {body.metadata.name} exists."
        ) from None
    await session.run_sync(add_to_count, caller.project_id, TRAINING_JOBS, 1)
    to_prepare = await session.run_sync(_after_creation, job, plan, engine, training)
    # The training reconciler is woken only for a job it must still prepare: one queued
    # at once is the workload reconciler's until its workload moves (a pass for every
    # create was most of the server's time at 100 creates a second).
    hint(session, Hint.WORKLOADS, *([Hint.TRAINING] if to_prepare else []))
    return job


def _after_creation(
    session: Session,
    job: TrainingJob,
    plan: Plan,
    chosen: EngineChoice | None,
    training: TrainingPlatform,
) -> bool:
    """Record the creation and queue the job when its engine is ready; whether the
    training reconciler must still prepare it."""
    record_event_sync(
        session,
        project_id=job.project_id,
        resource_type=WORKLOAD_KIND,
        resource_name=job.id,
        resource_id=job.id,
        reason="JobCreated",
        message=f"training job {job.name} created",
        fold=False,
    )
    if runs_in_image(plan):
        if training.images and training.sandboxed:
            # A container image: its command runs in the sandbox over the image's root
            # file system (pulled on the node that runs it, when it is not there).
            submit_attempt(session, job, plan, None, training)
            return False
        switch_job_phase(
            session,
            job,
            JobPhase.FAILED,
            f"image_url {plan.image_url}: {training.images_reason}; choose an engine from "
            "GET /v2/{project_id}/training-job-engines or an image saved from a notebook "
            "instance",
            secondary=SecondaryPhase.CREATE_FAILED,
            event_type=EventType.WARNING,
        )
        return False
    if plan.image_layers:
        # The training reconciler makes the job's environment over the image's layers.
        return True
    assert chosen is not None
    if chosen.note:
        # ModelArts' name for an engine that runs here on another build: said once.
        record_job_event(session, job, "EngineMapped", chosen.note)
    interpreter = training.envs.interpreter(chosen.engine)
    if interpreter is not None:
        record_missing_extras(session, job, chosen.engine, training.envs.missing(chosen.engine))
        # The engine is ready (the built-in one always is): queue at once.
        submit_attempt(session, job, plan, interpreter, training)
        return False
    # Otherwise the training reconciler prepares the engine first (phase Creating).
    return True


def _local_dir(training: TrainingPlatform, path: Path) -> dict[str, str]:
    """``local_dir`` where tasks see ModelArts' paths (in their sandboxes); without one,
    each task's folder is its own, and none is named."""
    return {"local_dir": str(path)} if training.sandboxed else {}


def record_missing_extras(
    session: Session, job: TrainingJob, engine: Engine, missing: dict[str, str]
) -> None:
    """Say which of its engine's packages a job will not find, and why."""
    for requirement, why in missing.items():
        record_job_event(
            session,
            job,
            "EnginePackageMissing",
            f"engine {engine.id} here has no {requirement}: {why}; code that imports it fails",
            EventType.WARNING,
        )


async def _resolve(
    session: AsyncSession,
    training: TrainingPlatform,
    caller: Caller,
    body: TrainingJobCreateIn,
    hosts: list[HostNode],
) -> tuple[Plan, dict[str, Any], str | None, EngineChoice | None]:
    project = caller.project_id
    given = body.algorithm or JobAlgorithmIn()
    if given.subscription_id or given.item_version_id:
        raise specs.bad("subscribed algorithms are not available here: use algorithm.id or code")
    algorithm_id = None
    algorithm_name = None
    rules: list[specs.ParameterRule] = []
    declared_inputs: list[str] = []
    declared_outputs: list[str] = []
    if given.id:
        stored = await algorithm_service.get_algorithm(session, project, given.id)
        config = algorithm_service.stored_job_config(stored)
        algorithm_id, algorithm_name = stored.id, stored.name
        rules = algorithm_service.parameter_rules(config)
        declared_inputs = [c.name for c in config.inputs or [] if c.name]
        declared_outputs = [c.name for c in config.outputs or []]
        code_dir, boot_file, command = config.code_dir, config.boot_file, config.command
        engine: AlgorithmEngineIn | JobEngineWire | None = config.engine
    else:
        code_dir, boot_file, command = given.code_dir, given.boot_file, given.command
        engine = given.engine
    code = specs.resolve_code(code_dir, boot_file, command)
    if code.code_dir is not None:
        await specs.owned_path(session, project, "code_dir", code.code_dir, folder=True)
    chosen, image_url = specs.resolve_engine(
        training.engines,
        engine_id=engine.engine_id if engine else None,
        engine_name=engine.engine_name if engine else None,
        engine_version=engine.engine_version if engine else None,
        image_url=engine.image_url if engine else None,
    )
    image = await _saved_image(session, project, image_url) if image_url else None
    runs = image_url
    if image_url and image is None:
        runs = await _container_reference(session, project, image_url)
        # A container image: one of the platform's registry must be the project's own.
        await registry_images.check_owned(
            session, training.registry_address, project, runs, "engine.image_url"
        )
    parameters = specs.resolve_parameters(
        rules,
        [(p.name or "", None if p.value is None else str(p.value)) for p in given.parameters or []],
    )
    inputs = []
    for channel in given.inputs or []:
        specs.check_channel_name("input", channel.name)
        if channel.remote.obs is None:
            raise specs.bad(f"input {channel.name}: only remote.obs inputs are supported here")
        url = await specs.owned_path(
            session, project, f"input {channel.name}", channel.remote.obs.obs_url, folder=False
        )
        inputs.append(Channel(name=channel.name, obs_url=url))
    outputs = []
    for output in given.outputs or []:
        specs.check_channel_name("output", output.name)
        url = await specs.owned_path(
            session, project, f"output {output.name}", output.remote.obs.obs_url, folder=True
        )
        outputs.append(Channel(name=output.name, obs_url=url))
    missing = [n for n in declared_inputs if n not in {c.name for c in inputs}]
    missing += [n for n in declared_outputs if n not in {c.name for c in outputs}]
    if missing:
        raise specs.bad(f"the algorithm's channel(s) {', '.join(missing)} need an obs_url")
    environments = specs.check_environments(
        {k: str(v) for k, v in (given.environments or {}).items()}
    )
    resource = body.spec.resource if body.spec and body.spec.resource else None
    flavor_id = resource.flavor_id if resource else None
    if not flavor_id:
        raise specs.bad("spec.resource.flavor_id is required", errors.FLAVOR_NOT_FOUND)
    flavor = training.catalog.get(flavor_id)
    if flavor is None or not flavor.serves(FlavorUse.TRAINING):
        names = ", ".join(f.name for f in training.catalog.for_use(FlavorUse.TRAINING))
        raise specs.bad(
            f"flavor {flavor_id} is not a training flavor here; the training flavors are: {names}",
            errors.FLAVOR_NOT_FOUND,
        )
    unusable = training.catalog.unusable_reason(flavor)
    if unusable:
        raise specs.bad(unusable, errors.FLAVOR_NOT_FOUND)
    node_count = resource.node_count if resource and resource.node_count else 1
    if node_count > MAX_NODE_COUNT:
        raise specs.bad(
            f"spec.resource.node_count {node_count} is above the flavor's max_num "
            f"({MAX_NODE_COUNT})"
        )
    pool_id = resource.pool_id if resource and resource.pool_id else ""
    needs = Resources(
        flavor.vcpus, int(flavor.memory_gib * GIB), flavor.gpu.count if flavor.gpu else 0
    )
    await _check_fits(session, hosts, project, pool_id, needs, node_count, flavor.name)
    log_export = None
    if body.spec and body.spec.log_export_path and body.spec.log_export_path.obs_url:
        log_export = await specs.owned_path(
            session, project, "log_export_path", body.spec.log_export_path.obs_url, folder=True
        )
    plan = Plan(
        code_dir=code.code_dir,
        boot_file=code.boot_file,
        command=code.command,
        engine_id=chosen.engine.id if chosen else None,
        image_url=runs,
        image_id=image.id if image else None,
        image_layers=image.layers if image else [],
        parameters=parameters,
        inputs=inputs,
        outputs=outputs,
        environments=environments,
        flavor=flavor.name,
        vcpus=needs.vcpus,
        memory_bytes=needs.memory_bytes,
        gpus=needs.gpus,
        node_count=node_count,
        pool_id=pool_id,
        log_export_path=log_export,
    )
    # Where a task finds its channels: ModelArts' own paths, in its sandbox.
    seen = TaskDirs(Path(MA_HOME))
    view = {
        "algorithm": {
            "id": algorithm_id,
            "name": algorithm_name,
            "code_dir": code_dir,
            "boot_file": boot_file,
            "command": code.command,
            "parameters": [{"name": n, "value": v} for n, v in parameters],
            "inputs": [
                {
                    "name": c.name,
                    "remote": {"obs": {"obs_url": c.obs_url}},
                    **_local_dir(training, seen.input(c.name)),
                }
                for c in inputs
            ],
            "outputs": [
                {
                    "name": c.name,
                    "remote": {"obs": {"obs_url": c.obs_url}},
                    **_local_dir(training, seen.output(c.name)),
                }
                for c in outputs
            ],
            "engine": {
                "engine_id": chosen.engine_id,
                "engine_name": chosen.engine_name,
                "engine_version": chosen.engine_version,
            }
            if chosen
            else {"image_url": image_url},
            "environments": [environments] if environments else None,
        },
        "spec": {
            "resource": {
                "policy": "regular",
                "flavor_id": flavor.name,
                "flavor_name": flavor.name,
                "node_count": node_count,
                "pool_id": pool_id or None,
            },
            "log_export_path": {"obs_url": log_export} if log_export else None,
        },
    }
    return plan, view, algorithm_id, chosen


async def _check_fits(
    session: AsyncSession,
    hosts: list[HostNode],
    project_id: str,
    pool_id: str,
    needs: Resources,
    node_count: int,
    flavor: str,
) -> None:
    """Refuse at once a job its pool could never hold, even empty."""
    if not await pool_service.could_ever_fit(
        session, hosts, project_id, pool_id, [needs] * node_count
    ):
        where = f"pool {pool_id}" if pool_id else "the public pool"
        raise specs.bad(
            f"{node_count} node(s) of flavor {flavor} can never fit in {where}, even when it is "
            "empty"
        )


def submit_attempt(
    session: Session,
    job: TrainingJob,
    plan: Plan,
    interpreter: str | None,
    training: TrainingPlatform,
) -> None:
    """Queue the job's next run as a workload: one task per node, as one gang. Without
    ``interpreter`` it runs in its container image (``plan.image_url``), whose own Python
    and PATH it finds."""
    image = plan.image_url if interpreter is None else None
    assert image is None or training.sandboxed, "images run only in the sandbox"
    templates = []
    uid = _sandbox_uid(session, job.project_id) if training.sandboxed else None
    for rank in range(plan.node_count):
        dirs = task_dirs(training.root, job.id, job.attempt, rank)
        # In a sandbox the task sees its folders where ModelArts puts them.
        seen = TaskDirs(Path(MA_HOME)) if uid is not None else dirs
        command, workdir = task_command(plan, seen, interpreter or IMAGE_PYTHON)
        env = task_environment(
            plan, seen, job_id=job.id, rank=rank, interpreter=interpreter or IMAGE_PYTHON
        )
        if image is not None:
            del env["PATH"]  # the image's own
        view = None
        if uid is not None:
            view = TaskView(
                uid=uid,
                hostname=f"{vj_name(job.id)}-{task_name(rank)}",
                mounts=(Mount(str(dirs.home), MA_HOME, writable=True),),
                # A gang's tasks meet over loopback (MASTER_ADDR); one task is alone.
                network=f"{job.id}-{job.attempt}" if plan.node_count > 1 else "",
                # A shell command runs the engine's python by name (an image its own).
                software=(interpreter,) if interpreter else (),
                # Its package index and the object-storage endpoint.
                egress=True,
                image=image or "",
            ).to_json()
        templates.append(
            workload_service.TaskTemplate(
                command,
                str(workdir),
                env,
                vcpus=plan.vcpus,
                memory_bytes=plan.memory_bytes,
                gpus=plan.gpus,
                view=view,
            )
        )
    workload = workload_service.submit_workload_sync(
        session,
        project_id=job.project_id,
        kind=WORKLOAD_KIND,
        resource_id=job.id,
        tasks=templates,
        pool=plan.pool_id,
    )
    job.workload_id = workload.id
    switch_job_phase(session, job, JobPhase.PENDING, "queued for capacity")


# -- the one phase switch --------------------------------------------------------------------
def switch_job_phase(
    session: Session,
    job: TrainingJob,
    to: JobPhase,
    reason: str,
    *,
    secondary: SecondaryPhase | None = None,
    event_type: EventType = EventType.NORMAL,
) -> bool:
    """Compare-and-set the job's phase, with an event; False if it moved meanwhile. A job
    may be switched to its own phase again (a new secondary phase and reason)."""
    now = now_ms()
    values: dict[str, Any] = {
        "secondary_phase": (secondary or SECONDARY_OF[to]).value,
        "reason": reason,
    }
    if to is JobPhase.RUNNING and job.started_at is None:
        values["started_at"] = now
    if to.finished:
        values["finished_at"] = now
    return transition(
        session,
        job,
        to,
        ALLOWED_MOVES,
        kind="training job",
        field="phase",
        stay=True,
        values=values,
        event=Recorded(
            project_id=job.project_id,
            resource_type=WORKLOAD_KIND,
            resource_name=job.id,
            resource_id=job.id,
            reason=f"Job{to.value}",
            message=reason or to.value,
            type=event_type,
        ),
    )


def record_job_event(
    session: Session,
    job: TrainingJob,
    reason: str,
    message: str,
    type: EventType = EventType.NORMAL,
) -> None:
    record_event_sync(
        session,
        project_id=job.project_id,
        resource_type=WORKLOAD_KIND,
        resource_name=job.id,
        resource_id=job.id,
        reason=reason,
        message=message,
        type=type,
        fold=False,
    )


# -- reading ---------------------------------------------------------------------------------
async def get_job(session: AsyncSession, project_id: str, job_id: str) -> TrainingJob:
    found = await session.get(TrainingJob, job_id)
    if found is None or found.project_id != project_id:
        raise not_found(job_id)
    return found


SORT_COLUMNS = {"create_time": TrainingJob.created_at, "name": TrainingJob.name}


async def search_jobs(
    session: AsyncSession,
    project_id: str,
    *,
    offset: int,
    limit: int,
    sort_by: str,
    ascending: bool,
    filters: list[tuple[str, str, list[str]]],
) -> Page[TrainingJob]:
    conditions: list[Any] = [TrainingJob.project_id == project_id]
    for key, operator, values in filters:
        conditions.append(_condition(key, operator, values))
    column = SORT_COLUMNS.get(sort_by)
    if column is None:
        raise OpenArtsError(
            errors.UNSUPPORTED_SORT_BY,
            f"sort_by {sort_by} is not supported; use {', '.join(SORT_COLUMNS)}",
        )
    # Unfiltered, the total is the project's count, kept with every create and delete.
    total = None if filters else await count_of_kind(session, project_id, TRAINING_JOBS)
    order: tuple[Any, Any] = (column, TrainingJob.id)
    if filters:
        # The filtered rows are counted anyway: read them through the filter's index and
        # sort them, rather than walk the project's jobs in order looking for them (which
        # a planner may prefer, and which reads every job for a few names).
        order = (not_for_lookup(column), not_for_lookup(TrainingJob.id))
    return await page_from_either_end(
        session,
        select(TrainingJob).where(*conditions),
        order=((order[0], ascending), (order[1], ascending)),
        offset=offset,
        limit=limit,
        total=total,
    )


_FILTER_COLUMNS: dict[str, Any] = {
    "name": TrainingJob.name,
    "phase": TrainingJob.phase,
    "create_time": TrainingJob.created_at,
    "user_id": TrainingJob.user_id,
    "kind": TrainingJob.kind,
}


def _condition(key: str, operator: str, values: list[str]) -> Any:
    column = _FILTER_COLUMNS.get(key)
    if column is None:
        raise OpenArtsError(
            errors.TRAINING_QUERY_ERROR,
            f"filter key {key} is not supported; use {', '.join(_FILTER_COLUMNS)}",
        )
    if not values:
        raise OpenArtsError(errors.TRAINING_QUERY_ERROR, f"filter {key} needs a value")
    numeric = key == "create_time"
    try:
        typed: list[Any] = [int(v) for v in values] if numeric else list(values)
    except ValueError:
        raise OpenArtsError(
            errors.TRAINING_QUERY_ERROR, f"filter {key} takes times in milliseconds"
        ) from None
    if operator == "like":
        if numeric:
            raise OpenArtsError(
                errors.TRAINING_QUERY_ERROR, f"filter {key} takes between, in or not, not like"
            )
        return func.lower(column).contains(str(typed[0]).lower())
    if operator == "in":
        return column.in_(typed)
    if operator == "not":
        return column.not_in(typed)
    if operator == "between":
        if len(typed) != 2:
            raise OpenArtsError(errors.TRAINING_QUERY_ERROR, f"filter {key} between needs 2 values")
        return column.between(typed[0], typed[1])
    raise OpenArtsError(errors.TRAINING_QUERY_ERROR, f"filter operator {operator} is not supported")


# -- user actions ----------------------------------------------------------------------------
async def terminate_job(session: AsyncSession, job: TrainingJob) -> None:
    """Record the wish; the training reconciler stops the work (phase Terminating)."""
    if JobPhase(job.phase).finished:
        raise specs.bad(f"training job {job.name} has already ended ({job.phase})")
    job.desired = "terminate"
    if job.workload_id is not None:
        await workload_service.request_stop(session, job.workload_id)
    await session.flush()
    hint(session, Hint.WORKLOADS, Hint.TRAINING)


async def delete_job(session: AsyncSession, job: TrainingJob) -> None:
    """Gone at once for the user; work still running is stopped by the reconcilers."""
    if job.workload_id is not None and not JobPhase(job.phase).finished:
        await workload_service.request_stop(session, job.workload_id)
    await session.delete(job)
    await session.run_sync(add_to_count, job.project_id, TRAINING_JOBS, -1)
    hint(session, Hint.WORKLOADS, Hint.TRAINING)


async def _container_reference(session: AsyncSession, project_id: str, image_url: str) -> str:
    """What a container job runs (services.images.container_reference), or 400."""
    runs = await image_service.container_reference(session, project_id, image_url)
    if runs is None:
        raise specs.bad(f"engine.image_url {image_url} names no registry host: {WHOLE_REFERENCE}")
    return runs


async def _saved_image(
    session: AsyncSession, project_id: str, image_url: str
) -> image_service.ImageView | None:
    """The saved image ``image_url`` names, when it is one this platform can run; None for
    a container image (the job then fails with the reason)."""
    image = await image_service.image_for_url(session, project_id, image_url)
    if image is None or not image.runnable:
        return None
    if image.status != ImageStatus.ACTIVE:
        raise specs.bad(
            f"image {image.swr_path} is {image.status}, not ACTIVE: start the job once it is saved"
        )
    return image


def runs_in_image(plan: Plan) -> bool:
    """Whether the job runs in a container image (not over a notebook's saved layers)."""
    return plan.image_url is not None and not plan.image_layers


def interpreter_of(training: TrainingPlatform, job_id: str, plan: Plan) -> str | None:
    """The Python a job's tasks run, or None while it is not made yet."""
    if plan.image_layers:
        python = job_environment(training.root, job_id) / "bin" / "python"
        return str(python) if python.exists() else None
    engine = engine_of(training, plan)
    return training.envs.interpreter(engine) if engine else None


def engine_of(training: TrainingPlatform, plan: Plan) -> Engine | None:
    return find_engine(training.engines, engine_id=plan.engine_id) if plan.engine_id else None


def _sandbox_uid(session: Session, project_id: str) -> int:
    uid = identity.sandbox_uid_of(session, project_id)
    if uid is None:
        raise OpenArtsError(errors.TRAINING_JOB_NOT_FOUND, f"project {project_id} is gone")
    return uid
