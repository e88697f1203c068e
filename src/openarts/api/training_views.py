"""Training jobs and algorithms as the API shows them."""

from __future__ import annotations

import json

from openarts.db.tables import Algorithm, TrainingJob
from openarts.domain.training import JobPhase
from openarts.domain.training_plan import Plan, task_name
from openarts.ids import now_ms
from openarts.schemas.algorithms import AlgorithmMetadataOut, AlgorithmOut
from openarts.schemas.training_jobs import (
    JobAlgorithmOut,
    JobMetadataOut,
    JobSpecOut,
    JobStatusOut,
    TaskStatusOut,
    TrainingJobOut,
)


def job_view(job: TrainingJob, waiting: str = "") -> TrainingJobOut:
    """The job as the API shows it; ``waiting``: why its run waits to start, said on
    each of its tasks (the reference's place for a task's message)."""
    plan = Plan.model_validate_json(job.plan)
    view = json.loads(job.view)
    phase = JobPhase(job.phase)
    started = job.started_at
    end = job.finished_at if phase.finished and job.finished_at else now_ms()
    statuses = [TaskStatusOut.model_validate(s) for s in json.loads(job.task_statuses)]
    if phase is JobPhase.FAILED:
        # Why it failed, and the failed task's last lines, where the status is read.
        if not statuses:
            statuses = [TaskStatusOut(task=task_name(0))]
        # The task the reason names (the rest of a gang was stopped because of it).
        named = [s for s in statuses if job.reason.startswith(f"{s.task} failed")]
        coded = [s for s in statuses if s.exit_code not in (None, 0)]
        failed = (named or coded or statuses)[0]
        failed.message = "\n".join(part for part in (job.reason, job.log_tail) if part)
    elif waiting and not phase.finished:
        statuses = [
            TaskStatusOut(task=task_name(rank), message=waiting) for rank in range(plan.node_count)
        ]
    return TrainingJobOut(
        kind=job.kind,
        metadata=JobMetadataOut(
            id=job.id,
            name=job.name,
            workspace_id=job.workspace_id,
            description=job.description,
            create_time=job.created_at,
            user_name=job.user_name,
            annotations=json.loads(job.annotations) or None,
        ),
        status=JobStatusOut(
            phase=phase.value,
            secondary_phase=job.secondary_phase,
            duration=max(0, end - started) if started else 0,
            start_time=started or 0,
            tasks=[task_name(rank) for rank in range(plan.node_count)],
            task_statuses=statuses or None,
        ),
        algorithm=JobAlgorithmOut.model_validate(_without_none(view["algorithm"])),
        spec=JobSpecOut.model_validate(_without_none(view["spec"])),
    )


def algorithm_view(algorithm: Algorithm) -> AlgorithmOut:
    body = json.loads(algorithm.body)
    config = body.get("job_config")
    if config and config.get("parameters"):
        for parameter in config["parameters"]:
            if parameter.get("value") is not None:
                parameter["value"] = str(parameter["value"])
    requirements = [
        {"key": r.get("key"), "value": r.get("values"), "operator": r.get("operator")}
        for r in body.get("resource_requirements") or []
    ]
    return AlgorithmOut.model_validate(
        {
            "metadata": AlgorithmMetadataOut(
                id=algorithm.id,
                name=algorithm.name,
                description=algorithm.description,
                workspace_id=algorithm.workspace_id,
                ai_project="default-ai-project",
                user_name=algorithm.user_name,
                source="custom",
                api_version="v2",
                is_valid=True,
                state="0",
                create_time=algorithm.created_at,
                update_time=algorithm.updated_at,
            ),
            "job_config": config,
            "resource_requirements": requirements or None,
            "advanced_config": _search_values_joined(body.get("advanced_config")),
        }
    )


def _search_values_joined(config: dict[str, object] | None) -> dict[str, object] | None:
    """Requests send discrete_values as a list; answers carry one string."""
    if not config:
        return None
    search = config.get("auto_search")
    if isinstance(search, dict):
        for parameter in search.get("search_params") or []:
            values = parameter.get("discrete_values")
            if isinstance(values, list):
                parameter["discrete_values"] = ",".join(values)
    return config


def _without_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
