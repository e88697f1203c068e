"""What every request handler may depend on: the platform, a DB session, the caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.api.auth import Authenticator
from openarts.backends.base import ComputeBackend
from openarts.db.engine import Database
from openarts.domain.identity import Caller
from openarts.errors import OpenArtsError
from openarts.gateway.inference_routes import InferenceRoutes
from openarts.reconcile.models import ModelReconciler
from openarts.reconcile.notebooks import NotebookReconciler
from openarts.reconcile.services import ServiceReconciler
from openarts.reconcile.training import TrainingReconciler
from openarts.reconcile.workloads import WorkloadReconciler
from openarts.security.secrets_box import SecretBox
from openarts.services.flavors import FlavorCatalog
from openarts.services.inference_services import ServicePlatform
from openarts.services.models import ModelPlatform
from openarts.services.notebook_runtime import NotebookRuntime
from openarts.services.notebooks import NotebookPlatform
from openarts.services.training_jobs import TrainingPlatform
from openarts.settings import Settings
from openarts.storage.base import ObjectStore
from openarts.storage.presign import PlatformPresigner


@dataclass(slots=True)
class Platform:
    """The long-lived objects of one running server, kept on ``app.state.platform``."""

    settings: Settings
    db: Database
    box: SecretBox
    auth: Authenticator
    catalog: FlavorCatalog
    store: ObjectStore
    presigner: PlatformPresigner
    backend: ComputeBackend
    reconciler: WorkloadReconciler
    training: TrainingPlatform
    training_reconciler: TrainingReconciler
    notebooks: NotebookPlatform
    notebook_runtime: NotebookRuntime
    notebook_reconciler: NotebookReconciler
    models: ModelPlatform
    model_reconciler: ModelReconciler
    services: ServicePlatform
    service_reconciler: ServiceReconciler
    inference_routes: InferenceRoutes
    # Serialises changes to pools, nodes, networks and tags, and admission onto pool
    # nodes, within this process (see services.pools.pool_change).
    capacity_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


async def get_session(platform: PlatformDep) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the handler returns without error."""
    async with platform.db.session() as session, session.begin():
        yield session


# scope="function": the transaction commits before the response leaves, so a failed
# commit is reported to the caller instead of being lost after a 200.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

ProjectIdPath = Annotated[
    str,
    Path(
        description="Project ID (32 hex characters).",
        min_length=1,
        max_length=64,
    ),
]


async def get_caller(request: Request, project_id: ProjectIdPath, platform: PlatformDep) -> Caller:
    return await platform.auth.caller_for(request, project_id)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_admin_caller(caller: CallerDep, request: Request) -> Caller:
    if not caller.is_admin:
        raise OpenArtsError(
            errors.OPERATION_FORBIDDEN,
            f"You are not authorized to perform the ({request.method} {request.url.path}) "
            "operation: it needs an administrator.",
        )
    return caller


AdminCallerDep = Annotated[Caller, Depends(get_admin_caller)]
