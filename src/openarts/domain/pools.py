"""Resource pools, their nodes and networks: phases, names and the rules on them."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum


class PoolPhase(StrEnum):
    CREATING = "Creating"
    RUNNING = "Running"
    ABNORMAL = "Abnormal"
    DELETING = "Deleting"
    ERROR = "Error"
    CREATION_FAILED = "CreationFailed"
    SCALING_FAILED = "ScalingFailed"
    WAITING = "Waiting"


# The phases switch_pool_phase allows: from -> to.
POOL_TRANSITIONS: dict[PoolPhase, frozenset[PoolPhase]] = {
    PoolPhase.CREATING: frozenset(
        {PoolPhase.RUNNING, PoolPhase.CREATION_FAILED, PoolPhase.DELETING}
    ),
    PoolPhase.RUNNING: frozenset({PoolPhase.ABNORMAL, PoolPhase.DELETING, PoolPhase.CREATING}),
    PoolPhase.ABNORMAL: frozenset({PoolPhase.RUNNING, PoolPhase.DELETING}),
    PoolPhase.CREATION_FAILED: frozenset({PoolPhase.DELETING}),
    PoolPhase.SCALING_FAILED: frozenset({PoolPhase.RUNNING, PoolPhase.DELETING}),
    PoolPhase.ERROR: frozenset({PoolPhase.DELETING}),
    PoolPhase.WAITING: frozenset({PoolPhase.DELETING}),
    PoolPhase.DELETING: frozenset(),
}


class NodePhase(StrEnum):
    CREATING = "Creating"
    AVAILABLE = "Available"
    DELETING = "Deleting"
    ABNORMAL = "Abnormal"


class PoolScope(StrEnum):
    TRAIN = "Train"
    INFER = "Infer"
    NOTEBOOK = "Notebook"


# A workload's kind -> the job type the pool APIs show ("train", "infer", "notebook").
def job_type(kind: str) -> str:
    lowered = kind.lower()
    if "train" in lowered:
        return "train"
    if "notebook" in lowered or "devenv" in lowered:
        return "notebook"
    if "infer" in lowered or "service" in lowered:
        return "infer"
    return lowered


_DISPLAY_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_FORBIDDEN_IN_DESCRIPTION = set("!<>=&\"'")


def display_name_problem(name: str, *, low: int, high: int, what: str) -> str | None:
    if not low <= len(name) <= high:
        return f"{what} name {name!r} must be {low} to {high} characters long"
    if not _DISPLAY_NAME.fullmatch(name):
        return (
            f"{what} name {name!r} may hold only lowercase letters, digits and hyphens, "
            "and must start and end with a letter or digit"
        )
    return None


_WORKSPACE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def workspace_problem(workspace_id: str) -> str | None:
    if not _WORKSPACE.fullmatch(workspace_id):
        return (
            f"workspace id {workspace_id[:80]!r} must be 1 to 64 letters, digits, "
            "underscores or hyphens"
        )
    return None


def sharing_problem(sharing: str | None) -> str | None:
    if sharing is not None and sharing not in ("shared", "unshared"):
        return f"os.modelarts/sharing must be shared or unshared, not {sharing[:40]!r}"
    return None


def description_problem(text: str, *, high: int, what: str) -> str | None:
    if len(text) > high:
        return f"{what} description is longer than {high} characters"
    bad = sorted(set(text) & _FORBIDDEN_IN_DESCRIPTION)
    if bad:
        return f"{what} description may not contain {' '.join(bad)}"
    return None


def cidr_problem(cidr: str, allowed: list[str]) -> str | None:
    """Why ``cidr`` cannot be a network here: it must be a /24 or larger block inside one
    of the allowed ranges (os-user-config's networkCidrs)."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        return f"cidr {cidr!r} is not a valid network in CIDR notation ({exc})"
    parents = [ipaddress.ip_network(block) for block in allowed]
    inside = [p for p in parents if p.version == network.version and network.subnet_of(p)]  # type: ignore[arg-type]
    if not inside:
        return f"cidr {cidr} must lie inside one of {', '.join(allowed)}"
    if network.prefixlen > 24:
        return f"cidr {cidr} is too small: the prefix may be at most /24"
    return None


def overlapping(cidr: str, others: dict[str, str]) -> str | None:
    """The name of a network in ``others`` (name -> cidr) that overlaps ``cidr``."""
    network = ipaddress.ip_network(cidr)
    for name, other in others.items():
        if network.overlaps(ipaddress.ip_network(other)):
            return name
    return None
