"""What was accepted before a restart is there after it, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import (
    AuthorizationRequest,
    CreateAuthorizationRequest,
    CreateModelArtsAgencyRequest,
    GetAuthorizationsRequest,
    ModelArtsAgencyRequest,
    ShowOsConfigRequest,
)

from openarts.testing.cli_runner import shared_runner
from openarts.testing.databases import temporary_database
from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_env(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    if os.environ.get("OPENARTS_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("OPENARTS_TEST_SKIP_POSTGRES=1")
    async with temporary_database() as url:
        yield {"OPENARTS_DATABASE_URL": url}


async def test_data_survives_a_graceful_restart(
    tmp_path: Path, database_env: dict[str, str]
) -> None:
    server = ServerProcess(tmp_path / "home", env=database_env).start()
    try:
        row = server.credentials()
        client = sdk_client(
            server.endpoint, row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
        )
        client.create_model_arts_agency(
            CreateModelArtsAgencyRequest(body=ModelArtsAgencyRequest(agency_name_suffix="kept"))
        )
        client.create_authorization(
            CreateAuthorizationRequest(
                body=AuthorizationRequest(user_id="all", type="agency", content="ma_agency_kept")
            )
        )
    finally:
        # uvicorn finishes its shutdown, then re-raises SIGTERM so the exit status says why.
        assert server.stop() in (0, -signal.SIGTERM), server.log()
    assert "Application shutdown complete" in server.log()

    again = ServerProcess(
        tmp_path / "home", env=database_env, port=server.port, obs_port=server.obs_port
    ).start()
    try:
        assert again.credentials() == row
        auth = client.get_authorizations(GetAuthorizationsRequest())
        assert {a.content for a in auth.auth} == {"modelarts_agency", "ma_agency_kept"}
    finally:
        again.close()


def test_fixed_identity_from_the_environment_is_applied_on_every_start(tmp_path: Path) -> None:
    project_id = "0123456789abcdef0123456789abcdef"
    env = {
        "OPENARTS_ADMIN_AK": "FIXEDACCESSKEY000001",
        "OPENARTS_ADMIN_SK": "first-secret",
        "OPENARTS_PROJECT_ID": project_id,
        "OPENARTS_ADMIN_PASSWORD": "pw-1",
    }
    server = ServerProcess(tmp_path / "home", env=env).start()
    try:
        client = sdk_client(server.endpoint, "FIXEDACCESSKEY000001", "first-secret", project_id)
        assert client.show_os_config(ShowOsConfigRequest()).pool_quota == 15
    finally:
        server.close()
    changed = ServerProcess(
        tmp_path / "home",
        env={**env, "OPENARTS_ADMIN_SK": "second-secret"},
        port=server.port,
        obs_port=server.obs_port,
    ).start()
    try:
        fresh = sdk_client(changed.endpoint, "FIXEDACCESSKEY000001", "second-secret", project_id)
        assert fresh.show_os_config(ShowOsConfigRequest()).pool_quota == 15
        with pytest.raises(ClientRequestException) as caught:
            client.show_os_config(ShowOsConfigRequest())
        assert caught.value.status_code == 401
        assert changed.credentials()["Secret Access Key"] == "second-secret"
    finally:
        changed.close()


def test_cli_administers_users_projects_and_keys(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").start()

    def cli(*args: str) -> str:
        done = server.cli(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        project_id = cli("projects", "create", "research").split(": ")[-1].strip()
        cli("users", "create", "rita", "--project", "research")
        keys = cli("credentials", "create", "--user", "rita")
        ak = keys.split("access key: ")[1].split()[0]
        sk = keys.split("secret key: ")[1].split()[0]
        assert ak in cli("credentials", "list", "rita")
        assert sk not in cli("credentials", "list", "rita")

        rita = sdk_client(server.endpoint, ak, sk, project_id)
        assert rita.show_os_config(ShowOsConfigRequest()).pool_quota == 15
        admin_project = server.credentials()["Project Id"]
        outsider = sdk_client(server.endpoint, ak, sk, admin_project)
        with pytest.raises(ClientRequestException) as caught:
            outsider.show_os_config(ShowOsConfigRequest())
        assert caught.value.status_code == 403

        failed = server.cli("users", "create", "rita")
        assert failed.returncode == 1
        assert "already exists" in failed.stdout

        # A password never comes from the command line: a prompt, or OPENARTS_PASSWORD.
        refused = server.cli("users", "create", "vera", "--password", "in-argv")
        assert refused.returncode == 2 and "No such option" in refused.stdout + refused.stderr
        no_terminal = server.cli("users", "create", "vera", "--with-password")
        assert no_terminal.returncode != 0
        assert "OPENARTS_PASSWORD is needed" in no_terminal.stdout + no_terminal.stderr
        made = shared_runner().run(
            [
                "--home",
                str(server.home),
                "users",
                "create",
                "vera",
                "--with-password",
                "--project",
                "research",
            ],
            env={**os.environ, "OPENARTS_PASSWORD": "Vera-pass-1234"},
            timeout=120,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        token = httpx.post(
            f"{server.endpoint}/v3/auth/tokens",
            json={
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": "vera",
                                "password": "Vera-pass-1234",
                                "domain": {"name": "openarts"},
                            }
                        },
                    },
                    "scope": {"project": {"id": project_id}},
                }
            },
            timeout=30,
        )
        assert token.status_code == 201, token.text
    finally:
        server.close()
