"""Which actions a resource's status allows, as the API's own rules have them: a button
the API would refuse is shown disabled, with the reason on hover, not offered to fail.

The rules come from the domain's status enums and move tables, the ones the API's
services check, so that the console and the API cannot disagree: a training job is
terminated until it has ended (services/training_jobs.terminate_job); a notebook starts
from STARTABLE, stops and is deleted where its move table allows STOPPING and DELETING
(services/notebooks.py); a service is started from stopped or failed, stopped while it
deploys or runs, updated in UPDATABLE (services/inference_services.py).
"""

from __future__ import annotations

from typing import Any

from openarts.domain.models import ModelStatus
from openarts.domain.notebooks import ALLOWED_MOVES as NOTEBOOK_MOVES
from openarts.domain.notebooks import STARTABLE, NotebookStatus
from openarts.domain.services import ALLOWED_MOVES as SERVICE_MOVES
from openarts.domain.services import UNREACHED, UPDATABLE, ServiceStatus
from openarts.domain.training import JobPhase

# What the action buttons of a page get: the action's name, and None when the status
# allows it or the reason (in words) when it does not.
Allowed = dict[str, str | None]


def _why(allowed: bool, reason: str) -> str | None:
    return None if allowed else reason


def job_actions(phase: Any) -> Allowed:
    try:
        current = JobPhase(str(phase))
    except ValueError:
        current = None
    ended = current is not None and current.finished
    # The API takes a second terminate while the first is under way; offering it again
    # would only say the same thing twice.
    terminating = current is JobPhase.TERMINATING
    return {
        "terminate": _why(
            current is not None and not ended and not terminating,
            f"The job has already ended ({phase})."
            if ended
            else "The job is being terminated."
            if terminating
            else f"A job in status {phase} cannot be terminated.",
        ),
        "delete": None,
    }


# A notebook's statuses that a user can reach here (the reference's others are the
# cloud's own: a list filter may still ask for them, the filter offers only these).
_NEVER_HERE = {
    NotebookStatus.INIT,
    NotebookStatus.DELETE_FAILED,
    NotebookStatus.DELETED,
    NotebookStatus.FROZEN,
}
NOTEBOOK_STATUSES = [s.value for s in NotebookStatus if s not in _NEVER_HERE]


def notebook_actions(status: Any) -> Allowed:
    try:
        current = NotebookStatus(str(status))
    except ValueError:
        current = None
    moves = NOTEBOOK_MOVES.get(current, frozenset()) if current else frozenset()
    running = current is NotebookStatus.RUNNING
    return {
        "start": _why(
            current in STARTABLE,
            "It is running." if running else f"A notebook that is {status} cannot be started.",
        ),
        # SNAPSHOTTING may move to STOPPING, but the API refuses a stop while the image is
        # being saved (services/notebooks.stop_notebook).
        "stop": _why(
            NotebookStatus.STOPPING in moves and current is not NotebookStatus.SNAPSHOTTING,
            f"A notebook that is {status} cannot be stopped.",
        ),
        "delete": _why(
            NotebookStatus.DELETING in moves and current is not NotebookStatus.SNAPSHOTTING,
            f"A notebook that is {status} cannot be deleted now.",
        ),
        # The lease is prolonged and storage mounted only while it runs.
        "lease": _why(running, "The lease is prolonged while the notebook runs."),
        "mount": _why(running, "Storage is mounted while the notebook runs."),
    }


SERVICE_STATUSES = [s.value for s in ServiceStatus if s not in UNREACHED]


def service_actions(status: Any) -> Allowed:
    try:
        current = ServiceStatus(str(status).lower())
    except ValueError:
        current = None
    moves = SERVICE_MOVES.get(current, frozenset()) if current else frozenset()
    updatable = current in UPDATABLE
    return {
        # "running" only restarts a stopped or failed service; elsewhere it changes nothing.
        "start": _why(
            current in (ServiceStatus.STOPPED, ServiceStatus.FAILED),
            f"A service that is {status} is not stopped.",
        ),
        "stop": _why(
            updatable and ServiceStatus.STOPPING in moves,
            f"A service that is {status} cannot be stopped.",
        ),
        "delete": _why(
            ServiceStatus.DELETING in moves, f"A service that is {status} cannot be deleted."
        ),
        "update": _why(updatable, f"A service that is {status} cannot be updated."),
    }


MODEL_STATUSES = [s.value for s in ModelStatus]


def model_actions(status: Any) -> Allowed:
    return {
        "deploy": _why(
            str(status) == ModelStatus.PUBLISHED,
            f"A model is deployed once it is published (it is {status}).",
        ),
        "delete": None,
    }
