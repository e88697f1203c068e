"""Algorithms: reusable code, engine, hyperparameters and data channels for training jobs."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.db.tables import Algorithm, TrainingJob
from openarts.domain.engines import Engine
from openarts.domain.identity import Caller
from openarts.domain.training import JobPhase
from openarts.errors import OpenArtsError
from openarts.ids import new_uuid, now_ms
from openarts.schemas.algorithms import (
    AlgorithmCreateIn,
    AlgorithmJobConfigIn,
    AlgorithmUpdateIn,
)
from openarts.services import training_specs as specs
from openarts.services.paging import Page, page_of

_LIVE_PHASES = [p.value for p in JobPhase if not p.finished]


def not_found(algorithm_id: str) -> OpenArtsError:
    return OpenArtsError(errors.ALGORITHM_NOT_FOUND, f"Algorithm {algorithm_id} not found.")


async def create_algorithm(
    session: AsyncSession, caller: Caller, body: AlgorithmCreateIn, engines: list[Engine]
) -> Algorithm:
    await _check_job_config(session, caller.project_id, body.job_config, engines)
    await _check_name_free(session, caller.project_id, body.metadata.name, None)
    now = now_ms()
    algorithm = Algorithm(
        id=new_uuid(),
        project_id=caller.project_id,
        name=body.metadata.name,
        description=body.metadata.description or "",
        workspace_id=body.metadata.workspace_id or "0",
        user_name=caller.user_name,
        body=_stored_body(body),
        created_at=now,
        updated_at=now,
    )
    session.add(algorithm)
    try:
        await session.flush()
    except IntegrityError:
        raise _name_taken(body.metadata.name) from None
    return algorithm


async def update_algorithm(
    session: AsyncSession,
    caller: Caller,
    algorithm_id: str,
    body: AlgorithmUpdateIn,
    engines: list[Engine],
) -> Algorithm:
    """Sections sent replace the stored ones; sections left out stay."""
    algorithm = await get_algorithm(session, caller.project_id, algorithm_id)
    stored = json.loads(algorithm.body)
    sent = json.loads(_stored_body(body))
    if body.job_config is not None:
        await _check_job_config(session, caller.project_id, body.job_config, engines)
    if body.metadata is not None:
        await _check_name_free(session, caller.project_id, body.metadata.name, algorithm.id)
        algorithm.name = body.metadata.name
        if body.metadata.description is not None:
            algorithm.description = body.metadata.description
    stored.update(sent)
    algorithm.body = json.dumps(stored)
    algorithm.updated_at = now_ms()
    await session.flush()
    return algorithm


async def delete_algorithm(session: AsyncSession, caller: Caller, algorithm_id: str) -> None:
    algorithm = await get_algorithm(session, caller.project_id, algorithm_id)
    user = await session.scalar(
        select(TrainingJob.name)
        .where(TrainingJob.algorithm_id == algorithm.id, TrainingJob.phase.in_(_LIVE_PHASES))
        .limit(1)
    )
    if user is not None:
        raise specs.bad(
            f"algorithm {algorithm.name} is used by training job {user}, which has not "
            "ended: terminate or delete the job first"
        )
    await session.delete(algorithm)


async def get_algorithm(session: AsyncSession, project_id: str, algorithm_id: str) -> Algorithm:
    found = await session.get(Algorithm, algorithm_id)
    if found is None or found.project_id != project_id:
        raise not_found(algorithm_id)
    return found


async def list_algorithms(
    session: AsyncSession,
    project_id: str,
    *,
    offset: int,
    limit: int,
    sort_by: str,
    ascending: bool,
    name_contains: str | None,
) -> Page[Algorithm]:
    conditions = [Algorithm.project_id == project_id]
    if name_contains:
        conditions.append(func.lower(Algorithm.name).contains(name_contains.lower()))
    column = {
        "create_time": Algorithm.created_at,
        "update_time": Algorithm.updated_at,
        "name": Algorithm.name,
    }[sort_by]
    order = column.asc() if ascending else column.desc()
    return await page_of(
        session,
        select(Algorithm).where(*conditions),
        order_by=(order, Algorithm.id),
        offset=offset,
        limit=limit,
    )


def stored_job_config(algorithm: Algorithm) -> AlgorithmJobConfigIn:
    return AlgorithmJobConfigIn.model_validate(json.loads(algorithm.body).get("job_config") or {})


def _stored_body(body: AlgorithmCreateIn | AlgorithmUpdateIn) -> str:
    return json.dumps(body.model_dump(mode="json", exclude_none=True, exclude={"metadata"}))


async def _check_job_config(
    session: AsyncSession,
    project_id: str,
    config: AlgorithmJobConfigIn | None,
    engines: list[Engine],
) -> None:
    if config is None:
        raise specs.bad("an algorithm needs job_config: code_dir and boot_file, or command")
    code = specs.resolve_code(config.code_dir, config.boot_file, config.command)
    if code.code_dir is not None:
        await specs.owned_path(session, project_id, "code_dir", code.code_dir, folder=True)
    engine = config.engine
    specs.resolve_engine(
        engines,
        engine_id=engine.engine_id if engine else None,
        engine_name=engine.engine_name if engine else None,
        engine_version=engine.engine_version if engine else None,
        image_url=engine.image_url if engine else None,
    )
    for channel in config.inputs or []:
        specs.check_channel_name("input", channel.name or "")
    for output in config.outputs or []:
        specs.check_channel_name("output", output.name)
    # Defaults must satisfy their own constraints.
    specs.resolve_parameters(parameter_rules(config), [])


def parameter_rules(config: AlgorithmJobConfigIn) -> list[specs.ParameterRule]:
    rules = []
    for parameter in config.parameters or []:
        if not parameter.name:
            raise specs.bad("every algorithm parameter needs a name")
        constraint = parameter.constraint
        rules.append(
            specs.ParameterRule(
                name=parameter.name,
                default=parameter.value,
                type=constraint.type if constraint else None,
                editable=constraint.editable is not False if constraint else True,
                required=bool(constraint.required) if constraint else False,
                valid_type=constraint.valid_type if constraint else None,
                valid_range=tuple(constraint.valid_range or ()) if constraint else (),
            )
        )
    return rules


async def _check_name_free(
    session: AsyncSession, project_id: str, name: str, own_id: str | None
) -> None:
    taken = await session.scalar(
        select(Algorithm.id).where(Algorithm.project_id == project_id, Algorithm.name == name)
    )
    if taken is not None and taken != own_id:
        raise _name_taken(name)


def _name_taken(name: str) -> OpenArtsError:
    return OpenArtsError(errors.ALGORITHM_EXISTS, f"An algorithm named {name} already exists.")
