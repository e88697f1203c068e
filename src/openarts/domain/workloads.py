"""Workload and task statuses, shared by every kind of runnable resource."""

from __future__ import annotations

from enum import StrEnum


class WorkloadStatus(StrEnum):
    PENDING = "Pending"  # accepted, waiting for capacity
    RUNNING = "Running"
    STOPPING = "Stopping"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"

    @classmethod
    def finished_statuses(cls) -> frozenset[WorkloadStatus]:
        return frozenset({cls.SUCCEEDED, cls.FAILED, cls.STOPPED})

    @property
    def finished(self) -> bool:
        return self in self.finished_statuses()


# The transitions switch_workload_status allows: from -> to.
ALLOWED_TRANSITIONS: dict[WorkloadStatus, frozenset[WorkloadStatus]] = {
    WorkloadStatus.PENDING: frozenset(
        {WorkloadStatus.RUNNING, WorkloadStatus.STOPPED, WorkloadStatus.FAILED}
    ),
    WorkloadStatus.RUNNING: frozenset(
        {WorkloadStatus.STOPPING, WorkloadStatus.SUCCEEDED, WorkloadStatus.FAILED}
    ),
    WorkloadStatus.STOPPING: frozenset({WorkloadStatus.STOPPED, WorkloadStatus.FAILED}),
    WorkloadStatus.SUCCEEDED: frozenset(),
    WorkloadStatus.FAILED: frozenset(),
    WorkloadStatus.STOPPED: frozenset(),
}
