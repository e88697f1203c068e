"""Models: import (create), list, show, delete, and the one switch of their status.

Create checks what can be checked at once (the source is in a bucket of the project, the
name and version are free, the runtime exists) and records the model as publishing; the
model reconciler copies the package in, reads its config.json and makes its
environment. Deleting a model a service uses is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts import errors
from openarts.db.tables import Model, Service
from openarts.domain.events import EventType
from openarts.domain.images import is_image_reference
from openarts.domain.model_config import ModelConfigFile, requirements_of
from openarts.domain.models import (
    ALLOWED_MOVES,
    CUSTOM_TYPE,
    RESOURCE_TYPE,
    TEMPLATE_TYPE,
    ModelRuntime,
    ModelStatus,
    choose_runtime,
    plain_runtime,
    runtime_catalog,
)
from openarts.domain.registry import WHOLE_REFERENCE, is_swr_host, split_reference
from openarts.errors import OpenArtsError
from openarts.ids import new_uuid, now_ms
from openarts.schemas.models import DeleteFailure, ModelCreate, ModelListQuery
from openarts.services import buckets, registry_images
from openarts.services import images as image_service
from openarts.services.events import record_event_sync
from openarts.services.hints import Hint, hint
from openarts.services.paging import Page, page_of
from openarts.services.registry_access import PlatformRegistry
from openarts.services.transitions import Recorded, transition
from openarts.storage.base import ObjectStore
from openarts.storage.paths import InvalidPath, ObjectPath


@dataclass(frozen=True, slots=True)
class ModelPlatform:
    root: Path  # the model store: <root>/<model id>/model/
    store: ObjectStore
    # The registry models' images are checked in (and copied within).
    registry: PlatformRegistry | None = None
    # Why a container image cannot run here; None: it can.
    images_unavailable: str | None = None


_SORT_COLUMNS: dict[str, Any] = {
    "create_at": Model.created_at,
    "model_version": Model.version,
    "model_size": Model.size,
}


def not_found(model_id: str) -> OpenArtsError:
    return OpenArtsError(errors.MODEL_NOT_FOUND, f"Model ({model_id}) does not exist.")


def runtime_for(model_type: str, runtime: str | None) -> ModelRuntime:
    """The runtime a model runs in, or a clear error naming the ones there are."""
    if model_type == CUSTOM_TYPE:
        # A custom model runs its own command on plain Python, with what it installs.
        return plain_runtime()
    chosen = choose_runtime(model_type, runtime)
    if chosen is None:
        known = [r.name for r in runtime_catalog() if r.ai_engine.lower() == model_type.lower()]
        raise OpenArtsError(
            errors.MODEL_PARAMETER_INVALID,
            f"Parameter (runtime:{runtime or ''}) is invalid: model_type {model_type} "
            + (f"runs in one of {', '.join(known)}" if known else "has no runtime here"),
        )
    return chosen


async def create_model(
    session: AsyncSession,
    project_id: str,
    body: ModelCreate,
    *,
    registry_address: str | None = None,
) -> Model:
    """Record the model as publishing (``registry_address``: the platform's registry,
    whose images a project uses from its own namespaces only)."""
    if body.model_type == TEMPLATE_TYPE:
        raise OpenArtsError(
            errors.MODEL_PARAMETER_INVALID,
            "Parameter (model_type:Template) is invalid: there are no model templates here; "
            "import the model folder from object storage",
        )
    mapped = ""
    if body.runtime or body.model_type != CUSTOM_TYPE:
        chosen = runtime_for(body.model_type, body.runtime)
        if body.runtime and chosen.name != body.runtime:
            mapped = f"runtime {body.runtime} runs here as {chosen.name}"
    image = await _image_source(session, project_id, body, registry_address)
    if body.model_type == CUSTOM_TYPE and not body.cmd and image is None:
        raise OpenArtsError(
            errors.MODEL_PARAMETER_INVALID,
            "Parameter (cmd) is invalid: a model of type Image from object storage is the "
            "command that serves it (its port is given in $PORT); give cmd, or make "
            "source_location a container image, whose own command serves it",
        )
    source = (
        image
        if image is not None
        else await _owned(session, project_id, "source_location", body.source_location or "")
    )
    code = (
        await _owned(session, project_id, "execution_code", body.execution_code)
        if body.execution_code
        else ""
    )

    def dumped(items: Sequence[BaseModel] | None) -> str:
        return json.dumps([item.model_dump(mode="json", exclude_none=True) for item in items or []])

    now = now_ms()
    model = Model(
        id=new_uuid(),
        project_id=project_id,
        name=body.model_name,
        version=body.model_version,
        model_type=body.model_type,
        runtime=body.runtime or "",
        status=ModelStatus.PUBLISHING.value,
        reason="",
        description=body.description or "",
        workspace_id=body.workspace_id,
        source_location=source,
        execution_code=code,
        source_job_id=body.source_job_id or "",
        source_job_version=body.source_job_version or "",
        source_type=body.source_type or "",
        model_algorithm=body.model_algorithm or "",
        model_metrics=body.model_metrics or "",
        install_type=json.dumps(list(body.install_type)),
        apis=dumped(body.apis),
        dependencies=dumped(body.dependencies),
        input_params=dumped(body.input_params),
        output_params=dumped(body.output_params),
        model_docs=dumped(body.model_docs),
        health="{}",
        initial_config=body.initial_config or "",
        cmd=body.cmd or "",
        size=0,
        environment="",
        image="",
        source_copy=("true" if body.copies_image else "false") if image is not None else "",
        created_at=now,
        updated_at=now,
    )
    session.add(model)
    try:
        await session.flush()
    except IntegrityError:
        raise OpenArtsError(
            errors.MODEL_EXISTS, f"Model ({body.model_name}, {body.model_version}) already exists."
        ) from None
    await session.run_sync(_created, model, mapped)
    hint(session, Hint.MODELS)
    return model


def _created(session: Session, model: Model, mapped: str) -> None:
    said = [("ModelPublishing", f"model {model.name} {model.version} is being published")]
    if mapped:
        # ModelArts' name for a runtime that runs here on this platform's build.
        said.append(("RuntimeMapped", mapped))
    for reason, message in said:
        record_event_sync(
            session,
            project_id=model.project_id,
            resource_type=RESOURCE_TYPE,
            resource_name=model.name,
            resource_id=model.id,
            reason=reason,
            message=message,
            fold=False,
        )


async def _image_source(
    session: AsyncSession, project_id: str, body: ModelCreate, registry_address: str | None
) -> str | None:
    """The container image a model of type Image is (its ``source_location``, or the
    ``swr_location`` of its initial_config), as its replicas will pull it; None for a
    model whose files are in object storage."""
    if body.model_type != CUSTOM_TYPE:
        return None
    written = body.source_location
    field = "source_location"
    if written is None:
        config = body.initial_config_object() or {}
        written, field = str(config.get("swr_location") or "").strip(), "swr_location"
    if not written or written.startswith(("obs://", "s3://", "/")):
        return None
    if not is_image_reference(written):
        raise OpenArtsError(
            errors.MODEL_SOURCE_INVALID,
            f"{field} {written}: neither an object path (obs://bucket/path/) nor a "
            "container image reference",
        )
    runs = await image_service.container_reference(session, project_id, written)
    if runs is None:
        raise OpenArtsError(
            errors.MODEL_SOURCE_INVALID,
            f"{field} {written} names no registry host: {WHOLE_REFERENCE}",
        )
    if registry_address is None and is_swr_host(split_reference(runs)[0]):
        raise OpenArtsError(
            errors.MODEL_SOURCE_INVALID,
            f"{field} {written} names the platform's registry, and none runs here "
            "(OPENARTS_REGISTRY is off)",
        )
    await registry_images.check_owned(session, registry_address, project_id, runs, field)
    return runs


async def _owned(session: AsyncSession, project_id: str, what: str, text: str) -> str:
    try:
        path = ObjectPath.parse(text)
    except InvalidPath as error:
        raise OpenArtsError(
            errors.MODEL_SOURCE_INVALID,
            f"{what} {text}: {error}; models are imported from object storage "
            "(obs://bucket/path/ or /bucket/path/), or for model_type Image from a "
            "container image",
        ) from None
    if await buckets.owner_of(session, path.bucket) != project_id:
        raise OpenArtsError(
            errors.MODEL_SOURCE_INVALID,
            f"{what} {text}: bucket {path.bucket} does not exist in this project",
        )
    return str(path)


def requested_requirements(model: Model) -> list[str]:
    """The pip requirements the request's own ``dependencies`` make (none: config.json's)."""
    return requirements_of(json.loads(model.dependencies))


def record_config(model: Model, config: ModelConfigFile) -> None:
    """What config.json says, where the request left it blank."""
    shown = config.model_dump(mode="json", exclude_none=True)
    if model.apis == "[]" and shown.get("apis"):
        model.apis = json.dumps(shown["apis"])
    if not model.model_algorithm:
        model.model_algorithm = config.model_algorithm
    if not model.model_metrics and shown.get("metrics"):
        model.model_metrics = json.dumps(shown["metrics"])
    if shown.get("health"):
        model.health = json.dumps(shown["health"])
    if model.dependencies == "[]" and shown.get("dependencies"):
        model.dependencies = json.dumps(shown["dependencies"])


async def get_model(session: AsyncSession, project_id: str, model_id: str) -> Model:
    model = await session.get(Model, model_id)
    if model is None or model.project_id != project_id:
        raise not_found(model_id)
    return model


async def list_models(session: AsyncSession, project_id: str, query: ModelListQuery) -> Page[Model]:
    conditions: list[Any] = [Model.project_id == project_id]
    if query.model_name:
        conditions.append(
            Model.name == query.model_name
            if query.exact_match
            else Model.name.contains(query.model_name, autoescape=True)
        )
    if query.model_version:
        conditions.append(Model.version == query.model_version)
    if query.model_status:
        conditions.append(Model.status == query.model_status)
    if query.description:
        conditions.append(Model.description.contains(query.description, autoescape=True))
    if query.workspace_id:
        conditions.append(Model.workspace_id == query.workspace_id)
    if query.model_type:
        conditions.append(Model.model_type == query.model_type)
    if query.not_model_type:
        conditions.append(Model.model_type != query.not_model_type)
    column = _SORT_COLUMNS[query.sort_by]
    ordered = column.asc() if query.order == "asc" else column.desc()
    return await page_of(
        session,
        select(Model).where(*conditions),
        order_by=(ordered, Model.id),
        offset=query.offset,
        limit=query.limit,
    )


async def models_of_name(session: AsyncSession, project_id: str, name: str) -> list[Model]:
    return list(
        await session.scalars(
            select(Model)
            .where(Model.project_id == project_id, Model.name == name)
            .order_by(Model.created_at)
            .limit(20)
        )
    )


def switch_model_status(
    session: Session,
    model: Model,
    to: ModelStatus,
    reason: str,
    *,
    event_type: EventType = EventType.NORMAL,
) -> bool:
    """Compare-and-set the model's status, with an event; False if it moved meanwhile."""
    return transition(
        session,
        model,
        to,
        ALLOWED_MOVES,
        kind="model",
        values={"reason": reason, "updated_at": now_ms()},
        event=Recorded(
            project_id=model.project_id,
            resource_type=RESOURCE_TYPE,
            resource_name=model.name,
            resource_id=model.id,
            reason=f"Model{to.value.title().replace('_', '')}",
            message=reason or f"model {model.name} {model.version} is {to.value}",
            type=event_type,
        ),
    )


async def delete_models(
    session: AsyncSession,
    project_id: str,
    model_id: str,
    *,
    cascade: bool,
    copies: list[str] | None = None,
) -> tuple[list[str], list[DeleteFailure]]:
    """Delete the model (with ``cascade``, every version of its name, at most 20); the
    IDs deleted and those refused, with why. ``copies`` is given the images the platform
    copied for the models deleted, to be removed from its registry once this commits."""
    model = await get_model(session, project_id, model_id)
    targets = await models_of_name(session, project_id, model.name) if cascade else [model]
    deleted, failed = [], []
    for target in targets:
        user = await session.scalar(
            select(Service.name).where(
                Service.project_id == project_id,
                Service.desired != "delete",
                Service.config.contains(f'"{target.id}"', autoescape=True),
            )
        )
        if user is not None:
            failed.append(
                DeleteFailure(
                    model_id=target.id,
                    error_code=errors.MODEL_IN_USE,
                    error_msg=f"Failed to delete model, model ({target.id}) already deploy "
                    f"service: service {user} uses it.",
                )
            )
            continue
        await session.delete(target)
        deleted.append(target.id)
        if copies is not None and target.source_copy == "true" and target.image:
            copies.append(target.image)
    await session.flush()
    if deleted:
        # The model loop removes the files of models that are gone.
        hint(session, Hint.MODELS)
    return deleted, failed
