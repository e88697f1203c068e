"""From stored models and the runtime catalog to their wire shapes."""

from __future__ import annotations

import json
from typing import Any

from openarts.db.tables import Model
from openarts.domain.models import DOCUMENTED_RUNTIMES, ModelRuntime, ModelStatus
from openarts.schemas.models import (
    AcceleratorOut,
    DependencyOut,
    EngineRuntimesOut,
    GuideDocOut,
    ModelDetail,
    ModelHealthOut,
    ModelListItem,
    ModelParamOut,
)

# Every model here is the user's own (no ExeML, no preset algorithms).
MODEL_SOURCE = "custom"


def list_item(model: Model) -> ModelListItem:
    return ModelListItem(
        owner=model.project_id,
        model_version=model.version,
        model_type=model.model_type,
        description=model.description,
        project=model.project_id,
        source_type=model.source_type or None,
        model_id=model.id,
        model_source=MODEL_SOURCE,
        install_type=json.loads(model.install_type),
        model_size=model.size,
        source_copy=model.source_copy or None,
        workspace_id=model.workspace_id,
        model_status=model.status,
        market_flag=False,
        tunable=False,
        model_name=model.name,
        create_at=model.created_at,
        publishable_flag=False,
        tenant=model.project_id,
    )


def detail(model: Model) -> ModelDetail:
    health: dict[str, Any] = json.loads(model.health)
    config: dict[str, Any] = {"health": health} if health else {}
    return ModelDetail(
        model_version=model.version,
        source_job_version=model.source_job_version or None,
        source_location=model.source_location,
        source_copy=model.source_copy or None,
        source_job_id=model.source_job_id or None,
        description=model.description,
        project=model.project_id,
        workspace_id=model.workspace_id,
        model_algorithm=model.model_algorithm or None,
        model_name=model.name,
        tenant=model.project_id,
        model_docs=[GuideDocOut(**doc) for doc in json.loads(model.model_docs)],
        owner=model.project_id,
        execution_code=model.execution_code or None,
        output_params=[ModelParamOut(**p) for p in json.loads(model.output_params)],
        health=ModelHealthOut(**health) if health else None,
        runtime=model.runtime or None,
        model_metrics=model.model_metrics or None,
        source_type=model.source_type or None,
        model_type=model.model_type,
        model_id=model.id,
        dependencies=[DependencyOut(**d) for d in json.loads(model.dependencies)],
        model_size=model.size,
        model_status=model.status,
        apis=model.apis,
        model_source=MODEL_SOURCE,
        tunable=False,
        market_flag=False,
        publishable_flag=False,
        install_type=json.loads(model.install_type),
        config=json.dumps(config),
        input_params=[ModelParamOut(**p) for p in json.loads(model.input_params)],
        create_at=model.created_at,
        cmd=model.cmd or None,
        failed_reason=(model.reason or None) if model.status == ModelStatus.FAILED else None,
    )


def engine_runtimes(runtimes: list[ModelRuntime]) -> list[EngineRuntimesOut]:
    """The catalog grouped by AI engine; the lists run in parallel, one entry per runtime."""
    engines: dict[str, list[ModelRuntime]] = {}
    for runtime in runtimes:
        engines.setdefault(runtime.ai_engine, []).append(runtime)
    listed = []
    for engine, group in engines.items():
        # This platform's runtimes, then ModelArts' names that run in them here.
        names = [r.name for r in group]
        names += [n for n in DOCUMENTED_RUNTIMES.get(engine, ()) if n not in names]
        listed.append(
            EngineRuntimesOut(
                ai_engine=engine,
                runtimes=names,
                request_mode=["sync" for _ in names],
                accelerators=[AcceleratorOut(type="none") for _ in names],
                arch=["x86_64" for _ in names],
                status_list=["normal" for _ in names],
                image_source=["base_image" for _ in names],
            )
        )
    return listed
