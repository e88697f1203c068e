"""The IAM routes the console and the CLI sign in with: rescoping a token to another of
the user's projects, listing those projects, and revoking a token."""

from __future__ import annotations

import pytest

from openarts.testing.factories import add_project, add_user
from tests.api.test_auth import token_body
from tests.conftest import Api


@pytest.fixture
def api(light_api: Api) -> Api:
    """What these requests answer needs nothing to run: no loops, a fake backend."""
    return light_api


async def _sign_in(api: Api, user: str, password: str, project: dict[str, str]) -> str:
    response = await api.client.post("/v3/auth/tokens", json=token_body(user, password, project))
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def _rescope(token: str, project: dict[str, str]) -> dict[str, object]:
    return {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": token}},
            "scope": {"project": project},
        }
    }


async def test_projects_list_and_rescope(api: Api) -> None:
    first = await add_project(api.platform.db, "first")
    second = await add_project(api.platform.db, "second")
    await add_project(api.platform.db, "elsewhere")
    await add_user(
        api.platform.db, api.platform.box, "dora", projects=[first, second], password="pw-dora-1"
    )
    token = await _sign_in(api, "dora", "pw-dora-1", {"name": "first"})

    listed = await api.client.get("/v3/auth/projects", headers={"X-Auth-Token": token})
    assert listed.status_code == 200, listed.text
    assert [p["name"] for p in listed.json()["projects"]] == ["first", "second"]

    moved = await api.client.post("/v3/auth/tokens", json=_rescope(token, {"id": second}))
    assert moved.status_code == 201, moved.text
    assert moved.json()["token"]["methods"] == ["token"]
    assert moved.json()["token"]["project"]["name"] == "second"
    # The rescoped token ends when the one it came from ends.
    first_expiry = (
        await api.client.post("/v3/auth/tokens", json=_rescope(token, {"name": "first"}))
    ).json()["token"]["expires_at"]
    assert moved.json()["token"]["expires_at"][:16] == first_expiry[:16]
    second_token = moved.headers["X-Subject-Token"]
    ok = await api.client.get(
        f"/v1/{second}/os-user-config", headers={"X-Auth-Token": second_token}
    )
    assert ok.status_code == 200
    refused = await api.client.get(
        f"/v1/{first}/os-user-config", headers={"X-Auth-Token": second_token}
    )
    assert refused.status_code == 403


async def test_rescope_refuses_a_project_of_others_and_a_bad_token(api: Api) -> None:
    mine = await add_project(api.platform.db, "mine")
    theirs = await add_project(api.platform.db, "theirs")
    await add_user(api.platform.db, api.platform.box, "ed", projects=[mine], password="pw-ed-123")
    token = await _sign_in(api, "ed", "pw-ed-123", {"name": "mine"})
    refused = await api.client.post("/v3/auth/tokens", json=_rescope(token, {"id": theirs}))
    assert refused.status_code == 401
    assert "X-Subject-Token" not in refused.headers
    bad = await api.client.post("/v3/auth/tokens", json=_rescope("OA1nonsense", {"id": mine}))
    assert bad.status_code == 401
    assert bad.json()["error_code"] == "ModelArts.0203"
    no_token = await api.client.post(
        "/v3/auth/tokens",
        json={"auth": {"identity": {"methods": ["token"]}, "scope": {"project": {"id": mine}}}},
    )
    assert no_token.status_code == 400
    assert "token" in no_token.json()["error_msg"]


async def test_revoked_token_stops_working(api: Api) -> None:
    project = await add_project(api.platform.db, "revoke")
    for name in ("fay", "gus"):
        await add_user(
            api.platform.db, api.platform.box, name, projects=[project], password=f"pw-{name}-12"
        )
    token = await _sign_in(api, "fay", "pw-fay-12", {"name": "revoke"})
    other = await _sign_in(api, "gus", "pw-gus-12", {"name": "revoke"})
    url = f"/v1/{project}/os-user-config"
    assert (await api.client.get(url, headers={"X-Auth-Token": token})).status_code == 200

    # Someone else's token cannot be revoked with yours.
    foreign = await api.client.delete(
        "/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": other}
    )
    assert foreign.status_code == 401
    missing = await api.client.delete("/v3/auth/tokens", headers={"X-Auth-Token": token})
    assert missing.status_code == 400

    revoked = await api.client.delete(
        "/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}
    )
    assert revoked.status_code == 204
    after = await api.client.get(url, headers={"X-Auth-Token": token})
    assert after.status_code == 401
    assert after.json()["error_code"] == "ModelArts.0203"
    listed = await api.client.get("/v3/auth/projects", headers={"X-Auth-Token": token})
    assert listed.status_code == 401


async def test_projects_list_needs_credentials(api: Api) -> None:
    response = await api.client.get("/v3/auth/projects")
    assert response.status_code == 401
    assert response.json()["error_code"] == "ModelArts.0205"
