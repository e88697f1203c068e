"""How a user knows a workload: the kind of thing it runs and that thing's name."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openarts.db.tables import Notebook, Service, ServiceReplica, TrainingJob
from openarts.domain.notebooks import WORKLOAD_KIND as NOTEBOOK_KIND
from openarts.domain.services import WORKLOAD_KIND as SERVICE_KIND
from openarts.domain.training import WORKLOAD_KIND as TRAINING_KIND


def describe(session: Session, kind: str, resource_id: str) -> str:
    """ "training job j1", "notebook nb", "service iris-svc" (a replica is its service's)."""
    if kind == TRAINING_KIND:
        job = session.get(TrainingJob, resource_id)
        return f"training job {job.name}" if job is not None else "a training job"
    if kind == NOTEBOOK_KIND:
        notebook = session.get(Notebook, resource_id)
        return f"notebook {notebook.name}" if notebook is not None else "a notebook"
    if kind == SERVICE_KIND:
        replica = session.get(ServiceReplica, resource_id)
        service = session.get(Service, replica.service_id) if replica is not None else None
        return f"service {service.name}" if service is not None else "a service"
    return f"{kind} {resource_id}"
