"""The flavor catalog: the shipped YAML, or the home's override, checked against this host."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from openarts.domain.flavors import SCOPE_LABELS, Flavor, FlavorCatalogFile, FlavorUse
from openarts.hostinfo import HostInfo


class CatalogError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FlavorCatalog:
    flavors: tuple[Flavor, ...]
    host: HostInfo

    @classmethod
    def load(cls, host: HostInfo, override: Path | None = None) -> FlavorCatalog:
        if override is not None and override.is_file():
            text, origin = override.read_text("utf-8"), str(override)
        else:
            text = resources.files("openarts.data").joinpath("flavors.yaml").read_text("utf-8")
            origin = "the shipped flavors.yaml"
        try:
            parsed = FlavorCatalogFile.model_validate(yaml.safe_load(text))
        except (yaml.YAMLError, ValidationError) as exc:
            raise CatalogError(f"{origin} is not a valid flavor catalog: {exc}") from exc
        names = [flavor.name for flavor in parsed.flavors]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise CatalogError(f"{origin} names these flavors twice: {', '.join(duplicates)}")
        return cls(tuple(parsed.flavors), host)

    def for_use(self, use: FlavorUse) -> list[Flavor]:
        return [flavor for flavor in self.flavors if flavor.serves(use)]

    def get(self, name: str) -> Flavor | None:
        return next((flavor for flavor in self.flavors if flavor.name == name), None)

    def labels_of(self, flavor: Flavor) -> dict[str, str]:
        return {"os.modelarts/scope": ",".join(SCOPE_LABELS[use] for use in flavor.uses)}

    def arch_of(self, flavor: Flavor) -> str:
        return flavor.arch or self.host.arch

    def unusable_reason(self, flavor: Flavor) -> str | None:
        """Why this host can never run the flavor, or None when it can."""
        if self.arch_of(flavor) != self.host.arch:
            return f"flavor {flavor.name} is {self.arch_of(flavor)}; this host is {self.host.arch}"
        wanted = flavor.gpu.count if flavor.gpu else 0
        if wanted > len(self.host.gpus):
            return (
                f"flavor {flavor.name} needs {wanted} GPU(s); this host has {len(self.host.gpus)}"
            )
        return None
