"""The reference's rules a service's settings must keep, whatever the request carrying
them (deploy or update) looks like on the wire.

They are read through the small shapes below, which the wire models satisfy as they are,
so the rules live here once and the schemas only carry the fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, Protocol

InferType = Literal["real-time", "batch", "edge"]
REAL_TIME: Final = "real-time"
BATCH: Final = "batch"
EDGE: Final = "edge"
# Real-time weights must add up to exactly this.
WEIGHT_TOTAL: Final = 100
CUSTOM_SPECIFICATION: Final = "custom"
# Fields a batch service's one config entry must have.
BATCH_FIELDS: Final = ("src_path", "dest_path", "req_uri", "mapping_type")


class ConfigEntry(Protocol):
    """One model of a service, as the rules read it."""

    @property
    def model_id(self) -> str: ...

    @property
    def weight(self) -> int | None: ...

    @property
    def cluster_id(self) -> str | None: ...

    @property
    def specification(self) -> str: ...

    @property
    def names_pool(self) -> bool: ...

    @property
    def has_log_volume(self) -> bool: ...


class ServiceChange(Protocol):
    """An update's fields the rules look at."""

    @property
    def effective_config(self) -> Sequence[ConfigEntry] | None: ...

    @property
    def schedule(self) -> Sequence[object] | None: ...

    @property
    def load_balancer_policy(self) -> str | None: ...

    @property
    def priority(self) -> int | None: ...


def service_problem(
    infer_type: str,
    *,
    config: Sequence[ConfigEntry] | None,
    schedule: Sequence[object] | None = None,
    load_balancer_policy: str | None = None,
    priority: int | None = None,
    service_cluster: bool = False,
    service_pool_name: bool = False,
) -> str | None:
    """The first rule of the reference a service's settings break, or None.

    ``service_cluster`` and ``service_pool_name`` tell whether the service itself names a
    cluster_id or a pool_name (a dedicated pool).
    """
    if schedule and infer_type != REAL_TIME:
        return "schedule can be set for real-time services only"
    if load_balancer_policy is not None and infer_type != REAL_TIME:
        return "load_balancer_policy can be set for real-time services only"
    if priority is not None and infer_type == EDGE:
        return "priority can be set for real-time and batch services only"
    if not config:
        return None
    seen: set[str] = set()
    for entry in config:
        if entry.model_id in seen:
            return (
                f"config: model_id {entry.model_id} appears twice; the model versions of a "
                "service must differ"
            )
        seen.add(entry.model_id)
    if infer_type == EDGE:
        # An edge config's cluster_id is an edge pool and needs the service's own.
        for index, entry in enumerate(config):
            if entry.cluster_id is not None and not service_cluster:
                return f"config[{index}].cluster_id needs the service's cluster_id as well"
        return None
    problem = _batch_problem(config) if infer_type == BATCH else None
    if infer_type == REAL_TIME:
        problem = _weights_problem(config)
    return problem or _pool_problem(config, dedicated=service_cluster or service_pool_name)


def update_problem(
    change: ServiceChange,
    infer_type: str,
    *,
    service_cluster: bool = False,
    service_pool_name: bool = False,
) -> str | None:
    """The first rule an update breaks for a service of ``infer_type`` (whose own
    cluster_id and pool_name are set as the flags say), or None."""
    return service_problem(
        infer_type,
        config=change.effective_config,
        schedule=change.schedule,
        load_balancer_policy=change.load_balancer_policy,
        priority=change.priority,
        service_cluster=service_cluster,
        service_pool_name=service_pool_name,
    )


def _batch_problem(config: Sequence[ConfigEntry]) -> str | None:
    if len(config) != 1:
        return "config: a batch service deploys exactly one model"
    for name in BATCH_FIELDS:
        if getattr(config[0], name, None) is None:
            return f"config[0].{name} is required for a batch service"
    return None


def _weights_problem(config: Sequence[ConfigEntry]) -> str | None:
    for index, entry in enumerate(config):
        if entry.weight is None:
            return f"config[{index}].weight is required for a real-time service"
    total = sum(entry.weight or 0 for entry in config)
    if total != WEIGHT_TOTAL:
        return (
            f"config: the weights of a real-time service must add up to {WEIGHT_TOTAL} "
            f"(they add up to {total})"
        )
    return None


def _pool_problem(config: Sequence[ConfigEntry], *, dedicated: bool) -> str | None:
    for index, entry in enumerate(config):
        if entry.names_pool and not dedicated:
            return (
                f"config[{index}].cluster_id and pool_name need the service's cluster_id or "
                "pool_name as well"
            )
        if entry.specification == CUSTOM_SPECIFICATION and not dedicated:
            return (
                f"config[{index}].specification custom needs a dedicated resource pool "
                "(cluster_id or pool_name)"
            )
        if entry.has_log_volume and not dedicated:
            return (
                f"config[{index}].additional_properties.log_volume needs a dedicated "
                "resource pool (cluster_id or pool_name)"
            )
    return None
