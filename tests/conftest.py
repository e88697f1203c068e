"""Fixtures shared by every test: settings in a temporary home, an in-process API client on
SQLite or PostgreSQL, and signing helpers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from openarts.api.app import Relays, create_app
from openarts.api.deps import Platform
from openarts.services.bootstrap import BootstrapReport
from openarts.settings import Settings
from openarts.testing.clients import AkSk, signed_request
from openarts.testing.postgres import temporary_database
from openarts.testing.server import reap_tasks

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'openarts.db'}"
        return
    if os.environ.get("OPENARTS_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("OPENARTS_TEST_SKIP_POSTGRES=1")
    async with temporary_database() as url:
        yield url


def make_settings(home: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "database_url": database_url,
        "port": 18080,
        "auth_cache_ttl_s": 0,
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
    reports: list[BootstrapReport] = []
    app = create_app(settings, announce=lambda report, _settings: reports.append(report))
    relays = Relays(app)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=relays)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                yield Api(client, app.state.platform, reports[0])
    finally:
        await relays.close()
        # The server leaves its work running for a next start; a test leaves nothing.
        reap_tasks(settings.home)


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    async for started in start_api(make_settings(tmp_path / "home", database_url)):
        yield started


@pytest.fixture(scope="session")
def engine_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One engine cache for every test of the session: PyTorch is installed once."""
    return tmp_path_factory.mktemp("engines")
