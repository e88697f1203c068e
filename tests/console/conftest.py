"""Fixtures of the console's tests: an in-process server whose admin password is known,
and a browser-like client that signs in through the console's form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from openarts.console.cookie import COOKIE
from openarts.services import identity
from openarts.settings import Settings
from tests.conftest import Api, make_settings, start_server

PASSWORD = "console-test-pw-1"


@dataclass
class Console:
    """A client of the console app (its cookies are the browser's), beside a client of the
    API as the admin."""

    api: Api
    client: httpx.AsyncClient

    async def sign_in(self, project: str = "default") -> httpx.Response:
        answer = await self.client.post(
            "/console/login", data={"user": "admin", "password": PASSWORD, "project": project}
        )
        assert answer.status_code == 303, answer.text
        return answer

    def token(self) -> str:
        from openarts.console.cookie import Session

        session = Session.decode(self.client.cookies[COOKIE])
        assert session is not None
        return session.token

    async def csrf(self, path: str = "/console/notebooks") -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert found, page.text
        return found.group(1)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    settings = make_settings(
        tmp_path / "home",
        f"sqlite+aiosqlite:///{tmp_path / 'openarts.db'}",
        admin_password=PASSWORD,
    )
    async for console in start_console(settings):
        yield console


async def start_console(settings: Settings) -> AsyncIterator[Console]:
    async for started in start_server(settings):
        transport = httpx.ASGITransport(app=started.server.console)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Console(started.api, client)


async def second_project(console: Console, name: str = "second") -> str:
    """Another project the admin is a member of; its ID."""
    platform = console.api.platform
    async with platform.db.session() as session, session.begin():
        admin = await identity.user_by_name(session, "admin")
        assert admin is not None
        other = await identity.create_project(session, domain_id=admin.domain_id, name=name)
        await identity.add_member(session, project_id=other.id, user_id=admin.id)
    return str(other.id)
