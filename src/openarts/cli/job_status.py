"""A training job's status in words, from the API's answer: its phase, why it waits,
and why it failed (the failed task, its exit code, the last lines of its log), as
`job show` and `job wait` say them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FINAL_PHASES = {"Completed", "Failed", "Terminated"}


def waiting_reason(job: dict[str, Any]) -> str:
    """Why the job waits to start, as the API says it (on each task), or ""."""
    status = job.get("status", {})
    if status.get("phase") in FINAL_PHASES or status.get("phase") == "Running":
        return ""
    tasks = status.get("task_statuses") or []
    return str(tasks[0].get("message") or "") if tasks else ""


@dataclass
class Failure:
    """Why a job failed, as the API says it on the failed task: the reason, the task's
    exit code where it ran at all, and the last lines of its log."""

    task: str
    exit_code: int | None
    reason: str
    log_tail: str

    def summary(self) -> str:
        coded = self.exit_code is not None and f"exit code {self.exit_code}" not in self.reason
        return self.reason + (f" (exit code {self.exit_code})" if coded else "")


def failure(job: dict[str, Any]) -> Failure | None:
    status = job.get("status", {})
    if status.get("phase") != "Failed":
        return None
    tasks = [task for task in status.get("task_statuses") or [] if isinstance(task, dict)]
    # The API puts the reason on the task that failed (the rest of a gang stopped for it).
    failed = next((task for task in tasks if task.get("message")), None)
    failed = failed or next((task for task in tasks if task.get("exit_code")), None)
    if failed is None:
        return Failure("", None, "no reason given", "")
    reason, _, tail = str(failed.get("message") or "no reason given").partition("\n")
    code = failed.get("exit_code")
    return Failure(
        str(failed.get("task") or ""), code if isinstance(code, int) else None, reason, tail
    )


# `job show`'s rows: None (left out) unless the job failed or waits.


def waiting(job: dict[str, Any]) -> str | None:
    return waiting_reason(job) or None


def exit_code(job: dict[str, Any]) -> str | None:
    found = failure(job)
    if found is None or found.exit_code is None:
        return None
    return f"{found.exit_code} ({found.task})" if found.task else str(found.exit_code)


def why_failed(job: dict[str, Any]) -> str | None:
    found = failure(job)
    return found.reason if found else None


def last_log_lines(job: dict[str, Any]) -> str | None:
    found = failure(job)
    return found.log_tail if found and found.log_tail else None


def describe(job: dict[str, Any]) -> str:
    """The job's status in words: its phase, the detail where it adds one, and why it
    waits or failed."""
    status = job.get("status", {})
    phase = str(status.get("phase"))
    detail = status.get("secondary_phase")
    said = f"{phase} ({detail})" if detail and detail != phase else phase
    found = failure(job)
    why = found.summary() if found else waiting_reason(job)
    return f"{said}: {why}" if why else said


def event_text(event: dict[str, Any]) -> str:
    level = event.get("level")
    message = str(event.get("message") or "")
    return f"{level}: {message}" if level and level != "Info" else message
