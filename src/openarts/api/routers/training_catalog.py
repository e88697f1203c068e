"""What training jobs can use: the training flavors and the engine catalog."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query

from openarts.api.deps import CallerDep, CatalogDep, TrainingDep
from openarts.domain.engines import preset_engines
from openarts.domain.flavors import Flavor, FlavorUse
from openarts.domain.sandbox_view import MA_UID
from openarts.domain.training import MAX_NODE_COUNT
from openarts.schemas.common import ERROR_RESPONSES
from openarts.schemas.training_catalog import (
    FlavorBilling,
    FlavorCpu,
    FlavorDisk,
    FlavorGpu,
    FlavorMemory,
    TrainingEngine,
    TrainingEnginesOut,
    TrainingFlavor,
    TrainingFlavorInfo,
    TrainingFlavorsOut,
    TrainingFlavorType,
)

router = APIRouter(prefix="/v2/{project_id}", tags=["Training"], responses=ERROR_RESPONSES)


@router.get(
    "/training-job-flavors",
    response_model=TrainingFlavorsOut,
    response_model_exclude_none=True,
    summary="List the flavors training jobs can use",
)
async def list_training_flavors(
    caller: CallerDep,
    catalog: CatalogDep,
    flavor_type: Annotated[TrainingFlavorType | None, Query()] = None,
) -> TrainingFlavorsOut:
    flavors = [
        _flavor(f, catalog.arch_of(f))
        for f in catalog.for_use(FlavorUse.TRAINING)
        if catalog.unusable_reason(f) is None
        and (flavor_type is None or (flavor_type == "GPU") == (f.gpu is not None))
    ]
    return TrainingFlavorsOut(total_count=len(flavors), flavors=flavors)


def _flavor(flavor: Flavor, arch: str) -> TrainingFlavor:
    return TrainingFlavor(
        flavor_id=flavor.name,
        flavor_name=flavor.name,
        # Distributed jobs are gangs of nodes of one flavor, up to this many.
        max_num=MAX_NODE_COUNT,
        flavor_type="GPU" if flavor.gpu else "CPU",
        billing=FlavorBilling(code=flavor.name, unit_num=1),
        flavor_info=TrainingFlavorInfo(
            max_num=MAX_NODE_COUNT,
            # Whole cores, at least one: a fraction of a core still shows as one.
            cpu=FlavorCpu(arch=arch, core_num=max(1, math.ceil(flavor.vcpus))),
            gpu=FlavorGpu(
                unit_num=flavor.gpu.count,
                product_name=flavor.gpu.type,
                memory=f"{flavor.gpu.memory_gib}GiB",
            )
            if flavor.gpu
            else None,
            memory=_memory(flavor.memory_gib),
            disk=FlavorDisk(size=flavor.disk_gib, unit="GiB") if flavor.disk_gib else None,
        ),
    )


def _memory(gib: float) -> FlavorMemory:
    if gib == int(gib):
        return FlavorMemory(size=int(gib), unit="GiB")
    return FlavorMemory(size=round(gib * 1024), unit="MiB")


@router.get(
    "/training-job-engines",
    response_model=TrainingEnginesOut,
    response_model_exclude_none=True,
    summary="List the engines training jobs can use",
)
async def list_training_engines(caller: CallerDep, training: TrainingDep) -> TrainingEnginesOut:
    engines = [
        TrainingEngine(
            engine_id=e.id,
            engine_name=e.name,
            engine_version=e.version,
            v1_compatible=False,
            run_user=str(MA_UID),
            runs_here=e.description,
        )
        for e in training.engines
    ]
    local = {e.id: e for e in training.engines}
    for preset in preset_engines():
        engine = local.get(preset.runs_on or "")
        engines.append(
            TrainingEngine(
                engine_id=preset.engine_id,
                engine_name=preset.engine_name,
                engine_version=preset.engine_version,
                v1_compatible=preset.v1_compatible,
                run_user=str(MA_UID),
                runs_here=f"as {engine.description} (engine {engine.id})"
                if engine
                else f"no: {preset.unavailable or 'its engine is not in this catalog'}",
            )
        )
    return TrainingEnginesOut(total=len(engines), items=engines)
