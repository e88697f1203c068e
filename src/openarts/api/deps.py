"""What request handlers may depend on: each a narrow part of the platform, a DB session,
the caller.

The API does not build the platform: whoever creates the app (the composition root,
``openarts.server``) hands it an ``ApiParts``, and each router asks only for the parts
it uses. No part is a loop: a use case that wants a loop to act hints it through the
session (``services.hints``), which fires after the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.backends.base import ComputeBackend
from openarts.db.engine import Database
from openarts.domain.identity import Caller
from openarts.domain.sandbox_view import OFF_REPORT, SandboxReport
from openarts.errors import OpenArtsError
from openarts.security.login_throttle import LoginThrottle
from openarts.security.secrets_box import SecretBox
from openarts.services.authentication import Authenticator
from openarts.services.flavors import FlavorCatalog
from openarts.services.hosts import Hosts
from openarts.services.inference_services import ServicePlatform
from openarts.services.inference_traffic import InferenceTraffic
from openarts.services.notebooks import NotebookPlatform
from openarts.services.pools import PoolChanges
from openarts.services.registry_access import PlatformRegistry, RegistryStatus, RegistryTokens
from openarts.services.training_jobs import TrainingPlatform
from openarts.services.training_logs import TrainingLogs
from openarts.settings import Settings
from openarts.storage.base import ObjectStore


@dataclass(frozen=True, slots=True)
class ApiParts:
    """What the API needs of the platform, given by whoever creates the app."""

    settings: Settings
    db: Database
    auth: Authenticator
    box: SecretBox
    catalog: FlavorCatalog
    store: ObjectStore
    # Read-only questions to the backend (what a task uses now, its log's tail).
    backend: ComputeBackend
    hosts: Hosts
    pool_changes: PoolChanges
    training: TrainingPlatform
    training_logs: TrainingLogs
    notebooks: NotebookPlatform
    services: ServicePlatform
    traffic: InferenceTraffic
    # What isolation users' code gets (GET /health says it).
    sandbox: SandboxReport = OFF_REPORT
    # The platform's image registry, when it runs one (its token route answers for it).
    registry: RegistryTokens | None = None
    # The registry whose namespaces are the projects' (the embedded one or an external
    # one): registering checks images there; deleting with force removes them.
    image_registry: PlatformRegistry | None = None
    registry_status: RegistryStatus = field(default_factory=lambda: RegistryStatus(False, "none"))
    # Failed logins per name and client (password guessing is slowed, not locked out).
    logins: LoginThrottle = field(default_factory=LoginThrottle)


# The dependencies below are coroutines although they only read app state: FastAPI runs
# a plain function dependency on a worker thread, a hand-over that cost more than the
# rest of a read.
def client_of(request: Request) -> str:
    """The address a request came from (as the socket says: a proxy in front is one
    client)."""
    return request.client.host if request.client is not None else ""


def parts_of(request: Request) -> ApiParts:
    parts: ApiParts = request.app.state.parts
    return parts


async def _settings(request: Request) -> Settings:
    return parts_of(request).settings


async def _db(request: Request) -> Database:
    return parts_of(request).db


async def _auth(request: Request) -> Authenticator:
    return parts_of(request).auth


async def _box(request: Request) -> SecretBox:
    return parts_of(request).box


async def _catalog(request: Request) -> FlavorCatalog:
    return parts_of(request).catalog


async def _store(request: Request) -> ObjectStore:
    return parts_of(request).store


async def _backend(request: Request) -> ComputeBackend:
    return parts_of(request).backend


async def _hosts(request: Request) -> Hosts:
    return parts_of(request).hosts


async def _pool_changes(request: Request) -> PoolChanges:
    return parts_of(request).pool_changes


async def _training(request: Request) -> TrainingPlatform:
    return parts_of(request).training


async def _training_logs(request: Request) -> TrainingLogs:
    return parts_of(request).training_logs


async def _notebooks(request: Request) -> NotebookPlatform:
    return parts_of(request).notebooks


async def _services(request: Request) -> ServicePlatform:
    return parts_of(request).services


async def _traffic(request: Request) -> InferenceTraffic:
    return parts_of(request).traffic


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_db)]
AuthDep = Annotated[Authenticator, Depends(_auth)]
BoxDep = Annotated[SecretBox, Depends(_box)]
CatalogDep = Annotated[FlavorCatalog, Depends(_catalog)]
StoreDep = Annotated[ObjectStore, Depends(_store)]
BackendDep = Annotated[ComputeBackend, Depends(_backend)]
# The backend's hosts: as the workload loop last read them (``known()``, for checks of
# what could ever fit) or read now (``refresh()``, for pools, which carve capacity out of
# them). A route asks before its first statement: never inside its transaction.
HostsDep = Annotated[Hosts, Depends(_hosts)]
PoolChangesDep = Annotated[PoolChanges, Depends(_pool_changes)]
TrainingDep = Annotated[TrainingPlatform, Depends(_training)]
TrainingLogsDep = Annotated[TrainingLogs, Depends(_training_logs)]
NotebooksDep = Annotated[NotebookPlatform, Depends(_notebooks)]
ServicesDep = Annotated[ServicePlatform, Depends(_services)]
TrafficDep = Annotated[InferenceTraffic, Depends(_traffic)]


async def get_session(db: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the handler returns without error (the
    hints it carries fire then)."""
    async with db.session() as session, session.begin():
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


async def get_caller(request: Request, project_id: ProjectIdPath, auth: AuthDep) -> Caller:
    return await auth.caller_for(request, project_id)


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
