"""Wire shapes of the training catalog: public flavors (GET /v2/{project_id}/training-job-flavors)
and preset engines (GET /v2/{project_id}/training-job-engines)."""

from __future__ import annotations

from typing import Final, Literal, get_args

from openarts.schemas.common import Shape, WireModel

# -- query parameters of GET training-job-flavors -----------------------------------------
# Without flavor_type every flavor is listed. Some clouds also know "Ascend"; the reference
# lists only these two, so other values are refused.
TrainingFlavorType = Literal["CPU", "GPU"]
TRAINING_FLAVOR_TYPES: Final[tuple[str, ...]] = get_args(TrainingFlavorType)
TRAINING_FLAVORS_QUERY: Final = ("flavor_type",)


class TrainingFlavorsQuery(WireModel):
    flavor_type: TrainingFlavorType | None = None


# -- flavors ------------------------------------------------------------------------------
class FlavorBilling(Shape):
    code: str | None = None
    unit_num: int | None = None


class FlavorCpu(Shape):
    arch: str | None = None
    core_num: int | None = None


class FlavorGpu(Shape):
    unit_num: int | None = None
    product_name: str | None = None
    # A text such as "80GiB", not a number.
    memory: str | None = None


class FlavorNpu(Shape):
    # A string here, unlike the GPU unit_num; the SDK decodes it as one.
    unit_num: str | None = None
    product_name: str | None = None
    memory: str | None = None


class FlavorMemory(Shape):
    size: int | None = None
    unit: str | None = None


class FlavorDisk(Shape):
    size: int | None = None
    unit: str | None = None


class TrainingFlavorInfo(Shape):
    """Per-node hardware. The reference's field table omits npu though it defines the
    object; the SDK reads it under this key."""

    # 1 means the flavor cannot run distributed.
    max_num: int | None = None
    cpu: FlavorCpu | None = None
    gpu: FlavorGpu | None = None
    npu: FlavorNpu | None = None
    memory: FlavorMemory | None = None
    disk: FlavorDisk | None = None


class TrainingFlavor(Shape):
    flavor_id: str
    flavor_name: str | None = None
    max_num: int | None = None
    flavor_type: str | None = None
    billing: FlavorBilling | None = None
    flavor_info: TrainingFlavorInfo | None = None
    attributes: dict[str, str] | None = None


class TrainingFlavorsOut(Shape):
    total_count: int
    flavors: list[TrainingFlavor]


# -- engines ------------------------------------------------------------------------------
class EngineImageInfo(Shape):
    cpu_image_url: str | None = None
    # Empty where the engine has no GPU image.
    gpu_image_url: str | None = None
    image_version: str | None = None


class TrainingEngine(Shape):
    engine_id: str
    engine_name: str | None = None
    engine_version: str | None = None
    v1_compatible: bool | None = None
    # A numeric uid as text; empty means the image's own default user.
    run_user: str | None = None
    image_info: EngineImageInfo | None = None
    # This platform's own: what runs the engine here (its environment), or why nothing
    # can. ModelArts' preset engines run on this platform's build of their framework.
    runs_here: str | None = None


class TrainingEnginesOut(Shape):
    total: int
    items: list[TrainingEngine]
