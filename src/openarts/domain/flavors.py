"""Flavors: what a notebook, training task, service replica or pool node is given."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class FlavorUse(StrEnum):
    NOTEBOOK = "notebook"
    TRAINING = "training"
    INFERENCE = "inference"
    POOL = "pool"


# The values of the os.modelarts/scope label for each use.
SCOPE_LABELS = {
    FlavorUse.NOTEBOOK: "Notebook",
    FlavorUse.TRAINING: "Train",
    FlavorUse.INFERENCE: "Infer",
    FlavorUse.POOL: "Pool",
}


class GpuSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    count: int = Field(ge=1)
    memory_gib: int = Field(ge=0)


class Flavor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
    vcpus: float = Field(gt=0)
    memory_gib: float = Field(gt=0)
    gpu: GpuSpec | None = None
    arch: str | None = None
    uses: tuple[FlavorUse, ...]
    free: bool = False
    disk_gib: int | None = Field(default=None, ge=1)

    def serves(self, use: FlavorUse) -> bool:
        return use in self.uses


class FlavorCatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flavors: list[Flavor]
