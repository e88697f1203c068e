"""Training jobs: their phases, the moves between them, and the annotations they read."""

from __future__ import annotations

import re
from enum import StrEnum

# The most nodes one job may ask for (the flavors' max_num): a gang larger than any
# machine here could hold is refused by its size, before any list of it is built.
MAX_NODE_COUNT = 16
WORKLOAD_KIND = "train"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # jobs' and algorithms' names
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ENVIRONMENTS = 100
RETRY_ANNOTATION = "fault-tolerance/job-retry-num"
UNCONDITIONAL_RETRY_ANNOTATION = "fault-tolerance/job-unconditional-retry"
MAX_RETRIES = 128
# Lines of the log kept in the status of a failed job.
LOG_TAIL_LINES = 20


class JobPhase(StrEnum):
    CREATING = "Creating"
    PENDING = "Pending"
    RUNNING = "Running"
    FAILED = "Failed"
    COMPLETED = "Completed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"
    ABNORMAL = "Abnormal"

    @property
    def finished(self) -> bool:
        return self in (JobPhase.FAILED, JobPhase.COMPLETED, JobPhase.TERMINATED)


class SecondaryPhase(StrEnum):
    CREATING = "Creating"
    QUEUING = "Queuing"
    RUNNING = "Running"
    FAILED = "Failed"
    COMPLETED = "Completed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"
    CREATE_FAILED = "CreateFailed"
    TERMINATED_FAILED = "TerminatedFailed"
    UNKNOWN = "Unknown"
    LOST = "Lost"


# Each phase and the secondary phase it shows, where it has one of its own.
SECONDARY_OF: dict[JobPhase, SecondaryPhase] = {
    JobPhase.CREATING: SecondaryPhase.CREATING,
    JobPhase.PENDING: SecondaryPhase.QUEUING,
    JobPhase.RUNNING: SecondaryPhase.RUNNING,
    JobPhase.FAILED: SecondaryPhase.FAILED,
    JobPhase.COMPLETED: SecondaryPhase.COMPLETED,
    JobPhase.TERMINATING: SecondaryPhase.TERMINATING,
    JobPhase.TERMINATED: SecondaryPhase.TERMINATED,
    JobPhase.ABNORMAL: SecondaryPhase.LOST,
}

# The moves switch_job_phase allows: from -> to. A retry goes from Running back to
# Pending; a job that never got going can be terminated while it waits.
ALLOWED_MOVES: dict[JobPhase, frozenset[JobPhase]] = {
    JobPhase.CREATING: frozenset(
        {JobPhase.PENDING, JobPhase.FAILED, JobPhase.TERMINATING, JobPhase.TERMINATED}
    ),
    JobPhase.PENDING: frozenset(
        {JobPhase.RUNNING, JobPhase.FAILED, JobPhase.TERMINATING, JobPhase.TERMINATED}
    ),
    JobPhase.RUNNING: frozenset(
        {
            JobPhase.PENDING,
            JobPhase.COMPLETED,
            JobPhase.FAILED,
            JobPhase.TERMINATING,
            JobPhase.ABNORMAL,
        }
    ),
    JobPhase.ABNORMAL: frozenset({JobPhase.RUNNING, JobPhase.FAILED, JobPhase.TERMINATING}),
    JobPhase.TERMINATING: frozenset({JobPhase.TERMINATED, JobPhase.FAILED}),
    JobPhase.FAILED: frozenset(),
    JobPhase.COMPLETED: frozenset(),
    JobPhase.TERMINATED: frozenset(),
}


def retries_allowed(annotations: dict[str, str]) -> tuple[int, bool]:
    """How many times a failed job is run again, and whether regardless of exit code.

    Raises ValueError naming the annotation when its value is not understood."""
    text = annotations.get(RETRY_ANNOTATION)
    retries = 0
    if text is not None:
        digits = text.strip()
        if not (digits.isascii() and digits.isdigit()) or int(digits) > MAX_RETRIES:
            raise ValueError(
                f"metadata.annotations {RETRY_ANNOTATION} must be a whole number from 0 to "
                f"{MAX_RETRIES}, not {text!r}"
            )
        retries = int(text)
    flag = annotations.get(UNCONDITIONAL_RETRY_ANNOTATION)
    if flag is not None and flag.lower() not in ("true", "false"):
        raise ValueError(
            f"metadata.annotations {UNCONDITIONAL_RETRY_ANNOTATION} must be true or false, "
            f"not {flag!r}"
        )
    return retries, (flag or "").lower() == "true"
