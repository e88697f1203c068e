"""Notebook instances: their statuses, the moves between them, and lease arithmetic."""

from __future__ import annotations

from enum import StrEnum

from openarts.domain.addresses import UNIX_ADDRESS

WORKLOAD_KIND = "notebook"
# The prefix of every instance's address on the platform's own port.
PROXY_PREFIX = "/notebook/"
# Where ModelArts mounts the persistent volume; here, the instance's own folder.
WORK_MOUNT_PATH = "/home/ma-user/work/"
MOUNT_ROOT = "/data/"
# An instance's Jupyter in a sandbox listens on a Unix socket (domain/addresses.py) in a
# folder of the instance's own (SOCKET_FOLDER); the platform dials it pinned (a hard link)
# in the instance's folder, which the instance cannot write (SOCKET_ADDRESS, relative to
# that folder).
SOCKET_FOLDER = "socket"
SOCKET_ADDRESS = f"{UNIX_ADDRESS}jupyter.sock"
# Where the socket is inside the sandbox.
SOCKET_INSIDE = "/run/openarts/jupyter.sock"


LEASE_DEFAULT_MS = 3_600_000
# The range the cloud allows for a lease (the SDK's notes: 1 to 72 hours).
LEASE_MIN_MS = 3_600_000
LEASE_MAX_MS = 259_200_000


class NotebookStatus(StrEnum):
    """Every status the reference names, in its order. INIT, DELETE_FAILED, DELETED and
    FROZEN are the cloud's own (an instance here is gone once deleted, and never
    frozen): they may be asked for in a list filter, but no instance here reaches them."""

    INIT = "INIT"
    CREATING = "CREATING"
    STARTING = "STARTING"
    STOPPING = "STOPPING"
    DELETING = "DELETING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SNAPSHOTTING = "SNAPSHOTTING"
    CREATE_FAILED = "CREATE_FAILED"
    START_FAILED = "START_FAILED"
    DELETE_FAILED = "DELETE_FAILED"
    ERROR = "ERROR"
    DELETED = "DELETED"
    FROZEN = "FROZEN"


S = NotebookStatus
# The moves switch_notebook_status allows: from -> to.
ALLOWED_MOVES: dict[NotebookStatus, frozenset[NotebookStatus]] = {
    S.CREATING: frozenset({S.RUNNING, S.CREATE_FAILED, S.STOPPING, S.DELETING}),
    S.STARTING: frozenset({S.RUNNING, S.START_FAILED, S.STOPPING, S.DELETING}),
    S.RUNNING: frozenset({S.STOPPING, S.SNAPSHOTTING, S.ERROR, S.DELETING}),
    S.SNAPSHOTTING: frozenset({S.RUNNING, S.ERROR, S.STOPPING}),
    S.STOPPING: frozenset({S.STOPPED, S.DELETING}),
    S.STOPPED: frozenset({S.STARTING, S.DELETING}),
    S.CREATE_FAILED: frozenset({S.STARTING, S.DELETING}),
    S.START_FAILED: frozenset({S.STARTING, S.DELETING}),
    S.ERROR: frozenset({S.STARTING, S.STOPPING, S.DELETING}),
    S.DELETING: frozenset(),
    S.INIT: frozenset(),
    S.DELETE_FAILED: frozenset(),
    S.DELETED: frozenset(),
    S.FROZEN: frozenset(),
}
# Jupyter runs (or is being started) in these: a workload exists for them.
LIVE = frozenset({S.CREATING, S.STARTING, S.RUNNING, S.SNAPSHOTTING})
# May be started again.
STARTABLE = frozenset({S.STOPPED, S.CREATE_FAILED, S.START_FAILED, S.ERROR})


def lease_expiry(started_at: int, duration_ms: int, time_scale: float) -> int:
    """When a lease that began at ``started_at`` ends, in epoch ms. ``time_scale`` runs
    the clock faster for tests (0.001: an hour lasts 3.6 s); 1.0 in production."""
    return started_at + round(duration_ms * time_scale)


def prolonged_duration(started_at: int, now: int, extra_ms: int, time_scale: float) -> int:
    """The lease's new duration (counted from ``started_at``, as the API shows it) when
    it is to run ``extra_ms`` from ``now``."""
    elapsed = (now - started_at) / time_scale if time_scale > 0 else 0
    return round(elapsed) + extra_ms
