"""Amounts as a person reads them: "0.25 vCPUs, 512 MiB" rather than the Kubernetes-style
quantities ("250m", "0.5Gi") the pools API writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Kubernetes-style quantities the pools API writes ("500m" CPU, "1Gi" memory).
_SUFFIXES = {
    "m": 1e-3,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
}
KIB = 2**10
MIB = 2**20
GIB = 2**30
GPU_KEYS = ("nvidia.com/gpu", "gpu")


def quantity(text: Any) -> float:
    value = str(text or "0").strip()
    for suffix, scale in sorted(_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if value.endswith(suffix):
            try:
                return float(value[: -len(suffix)]) * scale
            except ValueError:
                return 0.0
    try:
        return float(value)
    except ValueError:
        return 0.0


def number(value: float) -> str:
    # At most two decimals, none that say nothing ("0.25", "2", "1.5").
    return f"{value:.2f}".rstrip("0").rstrip(".")


def cpus(value: float) -> str:
    return f"{number(value)} vCPU" + ("" if value == 1 else "s")


def memory(size_bytes: float) -> str:
    if size_bytes >= GIB:
        return f"{number(size_bytes / GIB)} GiB"
    return f"{number(size_bytes / MIB)} MiB"


def kilobytes(size_kb: Any) -> str:
    """A size the API gives in KB of 1024 bytes (an image's ``size``), as memory() says
    it; "—" for 0 or none: a preset image is no file of its own, and an image whose size
    is not known is also 0, and "0 B" would say it is empty."""
    try:
        value = float(size_kb)
    except (TypeError, ValueError):
        return "—"
    if value <= 0:
        return "—"
    if value * KIB < MIB:
        return f"{number(value)} KiB"
    return memory(value * KIB)


def gpus(value: float) -> str:
    return f"{number(value)} GPU" + ("" if value == 1 else "s")


def resources(shown: Mapping[str, Any] | None) -> str:
    """{"cpu": "250m", "memory": "512Mi", "nvidia.com/gpu": "1"} as "0.25 vCPUs, 512 MiB,
    1 GPU"; keys it does not know are shown as they are."""
    parts = []
    for key, value in (shown or {}).items():
        if key == "cpu":
            parts.append(cpus(quantity(value)))
        elif key == "memory":
            parts.append(memory(quantity(value)))
        elif key in GPU_KEYS:
            parts.append(gpus(quantity(value)))
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts) or "—"


def share(used: float, whole: float) -> int:
    """Percent of ``whole`` in use, 0 to 100 (a bar's width)."""
    if whole <= 0:
        return 0
    return max(0, min(100, round(100 * used / whole)))
