"""Fixtures shared by every test: settings in a temporary home, an in-process API client on
SQLite or PostgreSQL, and signing helpers."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.fernet import Fernet

from openarts.backends.sandbox import Sandbox
from openarts.db.engine import Database
from openarts.domain.capacity import HostNode
from openarts.domain.engines import engine_catalog
from openarts.domain.identity import AuthMethod, Caller
from openarts.hostinfo import detect_host
from openarts.runtime.engine_envs import EngineEnvironments
from openarts.runtime.env_builds import EnvironmentBuilder
from openarts.schemas.models import ModelCreate
from openarts.schemas.training_jobs import TrainingJobCreateIn
from openarts.security.secrets_box import SecretBox
from openarts.server.app import Server, build_server
from openarts.server.platform import Platform
from openarts.services import authorizations, buckets, identity
from openarts.services import models as model_service
from openarts.services.bootstrap import BootstrapReport
from openarts.services.flavors import FlavorCatalog
from openarts.services.training_jobs import TrainingPlatform
from openarts.settings import Settings
from openarts.storage.local import LocalStore
from openarts.testing import databases
from openarts.testing.clients import AkSk, signed_request
from openarts.testing.fake_backends import FakeBackend
from openarts.testing.server import reap_tasks

BACKENDS = ["sqlite", "postgresql"]
T = TypeVar("T")

# How pytest-xdist shares the tests out (make test: -n): one test at a time, except for
# these, whose tests run one after another on one worker:
# - a module's tests that share a server the module starts once;
SHARING_A_SERVER = (
    "tests/cli/",
    "tests/storage/",
    "tests/console/test_browser.py",
    "tests/e2e/test_schemathesis.py",
    "tests/e2e/test_sdk.py",
    "tests/inference/test_builtin_handlers.py",
)
# - and whatever the named units hold.
UNITS = {
    # A Ray cluster's tests, one after another on its cluster; the clusters of the three
    # modules are on loopback addresses of their own, so they run side by side.
    "ray": ("tests/ray/test_ray_platform.py",),
    "ray-token": ("tests/ray/test_ray_token.py",),
    "ray-fixture": ("tests/ray/test_cluster_fixture.py",),
    # The PyTorch engine, made once in the run's engine cache: its tests on one worker
    # (elsewhere they would wait for it, holding a worker idle).
    "torch-engine": (
        "tests/api/test_training.py::test_two_tasks_meet_over_torch_distributed",
        "tests/api/test_services.py::test_a_torchscript_model_is_served_by_the_pytorch_runtime",
        "tests/e2e/test_modelarts_pytorch_use_case.py",
        "tests/e2e/test_modelarts_pytorch_package.py",
    ),
}
# The longest runs first (units by name, or paths), so that none of them is what the run
# ends waiting for.
LONGEST_FIRST = (
    "ray",
    "torch-engine",
    "ray-token",
    "ray-fixture",
    "tests/e2e/test_schemathesis.py",
    "tests/console/test_browser.py",
    "tests/e2e/test_modelarts_model_packages.py",
    "tests/cli/",
    "tests/e2e/",
)


def work_unit(nodeid: str) -> str:
    """The tests that go to one xdist worker together, named."""
    for name, prefixes in UNITS.items():
        if nodeid.startswith(prefixes):
            return name
    path = nodeid.split("::", 1)[0]
    return path if path.startswith(SHARING_A_SERVER) else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    # Named units here rather than xdist_group marks: pytest 9.2 no longer lets xdist
    # rename a test to carry its group.
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    # Units go out in the collection's order (longest first), not largest first.
    config.option.loadscopereorder = False
    return ByUnit(config, log)


def _started_first(item: pytest.Item) -> int:
    unit = work_unit(item.nodeid)
    for rank, first in enumerate(LONGEST_FIRST):
        if unit == first or item.nodeid.startswith(first):
            return rank
    return len(LONGEST_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_started_first)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The sandboxes tests made keep a spare network each (a pasta behind it); a test
    # process may end without closing them, and xdist's workers end without atexit. So
    # do the networks of tasks a test left running when its Ray cluster was torn down.
    Sandbox.release_own_networks()


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end on an event loop of its own (in a thread: a test's loop
    may be running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test session (per xdist worker); tests copy it."""
    path = tmp_path_factory.mktemp("template") / "openarts.db"
    _run(databases.migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per test session (per xdist worker); tests
    get a copy of it."""
    if os.environ.get("OPENARTS_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("OPENARTS_TEST_SKIP_POSTGRES=1")
    name = _run(databases.make_template())
    try:
        yield name
    finally:
        _run(databases.drop_database(name))


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database already at the latest schema, of the test's own."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        copy = tmp_path / "openarts.db"
        shutil.copyfile(template, copy)
        yield f"sqlite+aiosqlite:///{copy}"
        return
    name: str = request.getfixturevalue("postgres_template")
    async with databases.temporary_database(template=name) as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of the test's own with nothing in it, not even a schema (for tests of
    the migrations themselves)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    if os.environ.get("OPENARTS_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("OPENARTS_TEST_SKIP_POSTGRES=1")
    async with databases.temporary_database() as url:
        yield url


def make_settings(home: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "database_url": database_url,
        "port": 18080,
        "auth_cache_ttl_s": 0,
        # In-process servers run no registry (its port would follow 18080 in every
        # worker); the tests of the registry start one themselves.
        "registry": "off",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Api:
    """An in-process server and the admin identity it created on start."""

    client: httpx.AsyncClient
    platform: Platform
    report: BootstrapReport

    @property
    def project_id(self) -> str:
        return self.report.project_id

    @property
    def keys(self) -> AkSk:
        return AkSk(self.report.access_key, self.report.secret_key)

    async def call(
        self, method: str, path: str, *, keys: AkSk | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A signed call; ``{project_id}`` in path is the admin's project."""
        return await signed_request(
            self.client,
            method,
            path.format(project_id=self.project_id),
            keys or self.keys,
            **kwargs,
        )


async def start_api(settings: Settings) -> AsyncIterator[Api]:
    async for started in start_server(settings):
        yield started.api


@dataclass
class Started:
    """An in-process server, started, and a client of its API (behind its relays)."""

    server: Server
    api: Api


async def start_server(settings: Settings, *, light: bool = False) -> AsyncIterator[Started]:
    """The whole server in process; ``light``: one that runs nothing (no loops, a fake
    backend), for tests of what requests answer rather than of what then runs."""
    reports: list[BootstrapReport] = []
    server = build_server(
        settings,
        announce=lambda report, *_: reports.append(report),
        backend=FakeBackend() if light else None,
        run_loops=not light,
    )
    try:
        async with server.api.router.lifespan_context(server.api):
            transport = httpx.ASGITransport(app=server.front)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                yield Started(server, Api(client, server.platform, reports[0]))
    finally:
        await server.front.close()
        # The server leaves its work running for a next start; a test leaves nothing.
        reap_tasks(settings.home)


@pytest.fixture
async def api(tmp_path: Path, database_url: str, engine_cache: Path) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path / "home", database_url, engine_cache=engine_cache)
    async for started in start_api(settings):
        yield started


@pytest.fixture
async def light_api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    """The API over a platform that runs nothing (see start_server)."""
    async for started in start_server(make_settings(tmp_path / "home", database_url), light=True):
        yield started.api


@pytest.fixture(scope="session")
def engine_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One engine cache for every test of the run, whichever worker runs it: PyTorch is
    installed once (a worker that needs it while another builds it waits for that)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is a folder of the run's own.
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = run / "engines"
    cache.mkdir(exist_ok=True)
    return cache


# -- use cases and loops without HTTP -------------------------------------------------------
BUCKET = "data"


@dataclass
class Scene:
    db: Database
    store: LocalStore
    caller: Caller
    # The hints of every transaction that committed, in order.
    hinted: list[frozenset[str]] = field(default_factory=list)

    def woken(self) -> set[str]:
        """Everything hinted since the last call."""
        seen = set().union(*self.hinted) if self.hinted else set()
        self.hinted.clear()
        return seen


@pytest.fixture
async def scene(database_url: str, tmp_path: Path) -> AsyncIterator[Scene]:
    db = Database(database_url)
    store = LocalStore(tmp_path / "obs")
    async with db.session() as session, session.begin():
        domain = await identity.create_domain(session, "d")
        project = await identity.create_project(session, domain_id=domain.id, name="p")
        user = await identity.create_user(
            session, domain_id=domain.id, name="alice", password=None, is_admin=True
        )
        await identity.add_member(session, project_id=project.id, user_id=user.id)
        await buckets.record_bucket(session, name=BUCKET, project_id=project.id)
        # The reference's "authorize ModelArts" step, which the first start does for the
        # admin: jobs and notebooks are refused without it.
        agency = await authorizations.create_agency(session, project_id=project.id, suffix=None)
        await authorizations.configure_authorization(
            session,
            SecretBox(Fernet.generate_key()),
            project_id=project.id,
            request=authorizations.NewAuthorization(content=agency, user_id=user.id),
        )
    await store.create_bucket(BUCKET)
    caller = Caller(user.id, user.name, domain.id, True, AuthMethod.AKSK, project.id)
    made = Scene(db, store, caller)
    db.on_commit = made.hinted.append
    try:
        yield made
    finally:
        await store.close()
        await db.close()


GIB = 1 << 30
JOB_FLAVOR = "test.cpu.one"
ROOMY = [HostNode("host", 8.0, 16 * GIB)]


@pytest.fixture
def training(tmp_path: Path) -> TrainingPlatform:
    """Training's use cases' part of the platform, with a flavor of one vCPU."""
    flavors = tmp_path / "flavors.yaml"
    flavors.write_text(
        f"flavors:\n  - {{name: {JOB_FLAVOR}, vcpus: 1, memory_gib: 1, uses: [training]}}\n"
    )
    return TrainingPlatform(
        catalog=FlavorCatalog.load(detect_host(), flavors),
        engines=engine_catalog(),
        envs=EngineEnvironments(tmp_path / "engines", EnvironmentBuilder(None, tmp_path)),
        root=tmp_path / "training",
    )


def job_request(name: str, node_count: int = 1) -> TrainingJobCreateIn:
    """A job of the built-in engine with code in the scene's bucket."""
    job: dict[str, Any] = {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/train.py",
            "engine": {"engine_name": "Python"},
        },
        "spec": {"resource": {"flavor_id": JOB_FLAVOR, "node_count": node_count}},
    }
    return TrainingJobCreateIn.model_validate(job)


async def imported_model(scene: Scene, name: str = "iris") -> str:
    """A model imported from the scene's bucket (publishing: nothing publishes it)."""
    body = ModelCreate.model_validate(
        {
            "model_name": name,
            "model_version": "1.0.0",
            "model_type": "Scikit_Learn",
            "source_location": f"obs://{BUCKET}/model/",
        }
    )
    async with scene.db.session() as session, session.begin():
        model = await model_service.create_model(session, scene.caller.project_id, body)
    return model.id
