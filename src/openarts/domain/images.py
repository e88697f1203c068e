"""Notebook images: the preset catalog and what an image's environment is made of.

An image here names a Python environment. A preset is either the server's own
interpreter (JupyterLab and the scientific basics are installed with the server, so it
starts at once) or an engine's environment with JupyterLab layered over it. Saving an
instance adds a layer: the packages the user installed, on top of the image it started
from. Container images (swr_path of a registered custom image) are recorded, and a
backend that cannot run containers refuses to start them.
"""

from __future__ import annotations

import re
import sys
import uuid
from dataclasses import dataclass

from openarts.domain.engines import BUILTIN_ID

# A container image's reference as registries write it ([host[:port]/]path[:tag][@digest]):
# it starts with a letter or digit (one starting with "-" would reach Podman as an option).
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,511}")


def is_image_reference(text: str) -> bool:
    return _REFERENCE.fullmatch(text) is not None


# Preset images' IDs are stable across servers and restarts.
_PRESET_NAMESPACE = uuid.UUID("6b1d7f0e-4f57-4d36-9a55-9f0c2f0b7a11")
PRESET_NAMESPACE = "openarts"


class ImageStatus:
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    CREATE_FAILED = "CREATE_FAILED"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class PresetImage:
    name: str
    tag: str
    engine_id: str
    description: str

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_PRESET_NAMESPACE, f"{self.name}:{self.tag}"))

    @property
    def swr_path(self) -> str:
        return f"{PRESET_NAMESPACE}/{self.name}:{self.tag}"


def preset_images() -> list[PresetImage]:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return [
        PresetImage(
            f"python{python}-jupyterlab",
            "builtin",
            BUILTIN_ID,
            "JupyterLab with Python, NumPy and pandas: the server's own environment, "
            "nothing to install",
        ),
        PresetImage(
            f"pytorch2.13.0-cpu-python{python}-jupyterlab",
            "builtin",
            "pytorch-2.13.0-cpu",
            "JupyterLab over the PyTorch 2.13.0 CPU engine (prepared on first use)",
        ),
    ]


def find_preset(image_id: str) -> PresetImage | None:
    return next((p for p in preset_images() if p.id == image_id), None)
