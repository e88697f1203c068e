"""Real-time services: their statuses, their replicas' states, and the rules that move them.

A service runs, for each entry of its ``config``, ``instance_count`` replicas of that
model; each replica is a workload of one task (a model server on a loopback port). A
replica gets traffic once its health check passes. A replica that ends while the service
should run is started again after a back-off that grows with its restarts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ServiceStatus(StrEnum):
    """Every status the reference names, in its order. FINISHED, PENDING and WAITING are
    the reference's too (a batch service finishes, the cloud's queue makes services pending
    and waiting), so they can be asked for in a list filter, but no service here reaches
    them (UNREACHED)."""

    RUNNING = "running"
    DEPLOYING = "deploying"
    CONCERNING = "concerning"
    FAILED = "failed"
    STOPPED = "stopped"
    FINISHED = "finished"
    STOPPING = "stopping"
    DELETING = "deleting"
    PENDING = "pending"
    WAITING = "waiting"


S = ServiceStatus
# The reference's statuses no service here reaches (see above).
UNREACHED: Final = frozenset({S.FINISHED, S.PENDING, S.WAITING})
ALLOWED_MOVES: Final[dict[ServiceStatus, frozenset[ServiceStatus]]] = {
    S.DEPLOYING: frozenset({S.RUNNING, S.CONCERNING, S.FAILED, S.STOPPING, S.DELETING}),
    S.RUNNING: frozenset({S.CONCERNING, S.DEPLOYING, S.STOPPING, S.DELETING, S.FAILED}),
    S.CONCERNING: frozenset({S.RUNNING, S.DEPLOYING, S.FAILED, S.STOPPING, S.DELETING}),
    S.FAILED: frozenset({S.DEPLOYING, S.STOPPING, S.DELETING}),
    S.STOPPING: frozenset({S.STOPPED, S.DELETING}),
    S.STOPPED: frozenset({S.DEPLOYING, S.DELETING}),
    S.DELETING: frozenset(),
    S.FINISHED: frozenset(),
    S.PENDING: frozenset(),
    S.WAITING: frozenset(),
}
# What may be updated (the reference's ModelArts.3519 names the others).
UPDATABLE: Final = frozenset({S.DEPLOYING, S.RUNNING, S.CONCERNING, S.FAILED, S.STOPPED})


class ReplicaState(StrEnum):
    STARTING = "starting"  # its workload is queued or its server not answering yet
    READY = "ready"  # answering its health check: it gets traffic
    DOWN = "down"  # its process ended; started again at restart_at
    RETIRING = "retiring"  # leaving (scaled in, replaced, stopped): no traffic


WORKLOAD_KIND: Final = "service"
RESOURCE_TYPE: Final = "service"
INFER_PREFIX: Final = "/v1/infers/"
# A replica that fails this many times in a row before ever answering fails its service
# while it deploys (a model that cannot load will not load on the fourth try either).
DEPLOY_ATTEMPTS: Final = 3
RESTART_BACKOFF_MAX_S: Final = 30.0
DEFAULT_DEPLOY_TIMEOUT_S: Final = 600


def restart_delay_s(restarts: int, base_s: float) -> float:
    """How long a replica that ended waits before it is started again."""
    return float(min(base_s * 2.0 ** max(restarts - 1, 0), RESTART_BACKOFF_MAX_S))
