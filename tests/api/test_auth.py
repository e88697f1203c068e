"""Authentication and project isolation through the in-process API."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from openarts.security.login_throttle import LIMIT
from openarts.security.signing import sign
from openarts.testing.clients import AkSk
from openarts.testing.factories import add_project, add_user
from tests.conftest import Api, make_settings, start_api


@pytest.fixture
def api(light_api: Api) -> Api:
    """What these requests answer needs nothing to run: no loops, a fake backend."""
    return light_api


OS_CONFIG = "/v1/{project_id}/os-user-config"


def token_body(user: str, password: str, project: dict[str, str]) -> dict[str, object]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "password": password, "domain": {"name": "openarts"}}
                },
            },
            "scope": {"project": project},
        }
    }


async def test_health_needs_no_credentials(api: Api) -> None:
    response = await api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    # It says what isolation users' code gets (this test's backend runs nothing).
    assert body["sandbox"]["enabled"] is False and "OFF" in body["sandbox"]["summary"]


async def test_signed_request_succeeds(api: Api) -> None:
    response = await api.call("GET", OS_CONFIG)
    assert response.status_code == 200, response.text
    assert response.json()["poolQuota"] == 15


async def test_missing_credentials_answer_401(api: Api) -> None:
    response = await api.client.get(OS_CONFIG.format(project_id=api.project_id))
    assert response.status_code == 401
    assert response.json()["error_code"] == "ModelArts.0205"


async def test_wrong_secret_answers_401(api: Api) -> None:
    response = await api.call("GET", OS_CONFIG, keys=AkSk(api.keys.access_key, "x" * 40))
    assert response.status_code == 401
    assert response.json()["error_code"] == "ModelArts.0208"


async def test_unknown_access_key_answers_401(api: Api) -> None:
    response = await api.call("GET", OS_CONFIG, keys=AkSk("NOSUCHKEY0000000000", "x" * 40))
    assert response.status_code == 401
    assert response.json()["error_code"] == "ModelArts.3801"


async def test_malformed_authorization_answers_401(api: Api) -> None:
    url = OS_CONFIG.format(project_id=api.project_id)
    response = await api.client.get(url, headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.json()["error_code"] == "ModelArts.0206"


async def test_tampered_body_answers_401(api: Api) -> None:
    url = f"http://testserver/v2/{api.project_id}/agency"
    body = b'{"agency_name_suffix": "good"}'
    headers = sign(
        method="POST",
        url=url,
        access_key=api.keys.access_key,
        secret_key=api.keys.secret_key,
        headers={"Content-Type": "application/json"},
        body=body,
    )
    response = await api.client.post(
        url, content=b'{"agency_name_suffix": "evil"}', headers=headers
    )
    assert response.status_code == 401
    assert "signature" in response.json()["error_msg"]


async def test_tampered_query_answers_401(api: Api) -> None:
    url = f"http://testserver/v2/{api.project_id}/authorizations?limit=5"
    headers = sign(
        method="GET", url=url, access_key=api.keys.access_key, secret_key=api.keys.secret_key
    )
    response = await api.client.get(url.replace("limit=5", "limit=6"), headers=headers)
    assert response.status_code == 401


async def test_old_date_answers_401(api: Api) -> None:
    url = f"http://testserver/v1/{api.project_id}/os-user-config"
    old = datetime.now(UTC) - timedelta(minutes=16)
    headers = sign(
        method="GET",
        url=url,
        access_key=api.keys.access_key,
        secret_key=api.keys.secret_key,
        now=old,
    )
    response = await api.client.get(url, headers=headers)
    assert response.status_code == 401
    assert "minutes" in response.json()["error_msg"]


async def test_date_within_fifteen_minutes_is_accepted(api: Api) -> None:
    url = f"http://testserver/v1/{api.project_id}/os-user-config"
    skewed = datetime.now(UTC) - timedelta(minutes=14)
    headers = sign(
        method="GET",
        url=url,
        access_key=api.keys.access_key,
        secret_key=api.keys.secret_key,
        now=skewed,
    )
    assert (await api.client.get(url, headers=headers)).status_code == 200


async def test_foreign_and_unknown_projects_answer_the_same_403(api: Api) -> None:
    other = await add_project(api.platform.db, "other")
    foreign = await api.call("GET", f"/v1/{other}/os-user-config")
    unknown = await api.call("GET", f"/v1/{'e' * 32}/os-user-config")
    assert foreign.status_code == unknown.status_code == 403
    assert foreign.json()["error_code"] == unknown.json()["error_code"] == "ModelArts.0210"
    assert other not in foreign.text.replace(f"project {other}", "")


async def test_member_sees_only_their_projects(api: Api) -> None:
    mine = await add_project(api.platform.db, "team-a")
    user = await add_user(api.platform.db, api.platform.box, "alice", projects=[mine])
    assert (await api.call("GET", f"/v1/{mine}/os-user-config", keys=user.keys)).status_code == 200
    response = await api.call("GET", OS_CONFIG, keys=user.keys)
    assert response.status_code == 403


async def test_x_project_id_header_must_match_the_path(api: Api) -> None:
    response = await api.call("GET", OS_CONFIG, headers={"X-Project-Id": "a" * 32})
    assert response.status_code == 403


async def test_token_flow(api: Api) -> None:
    project = await add_project(api.platform.db, "tokens")
    await add_user(
        api.platform.db, api.platform.box, "bob", projects=[project], password="s3cret-pass"
    )
    response = await api.client.post(
        "/v3/auth/tokens", json=token_body("bob", "s3cret-pass", {"name": "tokens"})
    )
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]
    body = response.json()["token"]
    assert body["project"]["id"] == project
    assert body["user"]["name"] == "bob"
    assert body["methods"] == ["password"]
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    ok = await api.client.get(f"/v1/{project}/os-user-config", headers={"X-Auth-Token": token})
    assert ok.status_code == 200
    other = await api.client.get(
        f"/v1/{api.project_id}/os-user-config", headers={"X-Auth-Token": token}
    )
    assert other.status_code == 403
    assert other.json()["error_code"] == "ModelArts.0210"
    bad = await api.client.get(f"/v1/{project}/os-user-config", headers={"X-Auth-Token": "x"})
    assert bad.status_code == 401
    assert bad.json()["error_code"] == "ModelArts.0203"


async def test_token_login_failures_answer_401(api: Api) -> None:
    wrong = await api.client.post(
        "/v3/auth/tokens", json=token_body("admin", "wrong", {"id": api.project_id})
    )
    assert wrong.status_code == 401
    assert "X-Subject-Token" not in wrong.headers
    missing_scope = token_body("admin", "wrong", {"id": api.project_id})
    missing_scope["auth"].pop("scope")  # type: ignore[attr-defined]
    assert (await api.client.post("/v3/auth/tokens", json=missing_scope)).status_code == 400


async def test_password_guessing_is_slowed_for_that_name_and_client(api: Api) -> None:
    project = await add_project(api.platform.db, "guessing")
    await add_user(
        api.platform.db, api.platform.box, "rita", projects=[project], password="right-pass"
    )
    for _ in range(LIMIT):
        wrong = await api.client.post(
            "/v3/auth/tokens", json=token_body("rita", "wrong", {"name": "guessing"})
        )
        assert wrong.status_code == 401, wrong.text
    # Even the right password waits now: it is not checked.
    slowed = await api.client.post(
        "/v3/auth/tokens", json=token_body("rita", "right-pass", {"name": "guessing"})
    )
    assert slowed.status_code == 429, slowed.text
    assert slowed.json()["error_code"] == "ModelArts.4206"
    assert 0 < int(slowed.headers["retry-after"]) <= 300
    assert "log in as rita" in slowed.json()["error_msg"]
    assert "X-Subject-Token" not in slowed.headers
    # Another name from the same client is not.
    other = await api.client.post(
        "/v3/auth/tokens", json=token_body("admin", "wrong", {"id": api.project_id})
    )
    assert other.status_code == 401


async def test_token_expires(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path / "home", database_url, token_ttl_s=1, admin_password="pw-for-expiry"
    )
    async for api in start_api(settings):
        response = await api.client.post(
            "/v3/auth/tokens", json=token_body("admin", "pw-for-expiry", {"id": api.project_id})
        )
        token = response.headers["X-Subject-Token"]
        url = f"/v1/{api.project_id}/os-user-config"
        assert (await api.client.get(url, headers={"X-Auth-Token": token})).status_code == 200
        deadline = time.monotonic() + 10
        expired: httpx.Response | None = None
        while time.monotonic() < deadline:
            expired = await api.client.get(url, headers={"X-Auth-Token": token})
            if expired.status_code != 200:
                break
            await asyncio.sleep(0.1)
        assert expired is not None and expired.status_code == 401
        assert expired.json()["error_code"] == "ModelArts.0202"


async def test_non_admin_cannot_manage_authorizations(api: Api) -> None:
    user = await add_user(api.platform.db, api.platform.box, "carol", projects=[api.project_id])
    response = await api.call("GET", "/v2/{project_id}/authorizations", keys=user.keys)
    assert response.status_code == 403
    assert response.json()["error_code"] == "ModelArts.0108"
