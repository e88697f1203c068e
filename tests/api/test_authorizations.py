"""Authorization management as an administrator sees it."""

from __future__ import annotations

from typing import Any

import pytest

from openarts.errors import OpenArtsError
from openarts.services.authorizations import require_authorization
from openarts.testing.factories import add_user
from tests.conftest import Api


@pytest.fixture
def api(light_api: Api) -> Api:
    """What these requests answer needs nothing to run: no loops, a fake backend."""
    return light_api


AUTHZ = "/v2/{project_id}/authorizations"


async def listed(api: Api, query: str = "") -> dict[str, Any]:
    response = await api.call("GET", AUTHZ + query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_first_start_authorizes_the_admin(api: Api) -> None:
    body = await listed(api)
    assert body["total_count"] == 1
    [entry] = body["auth"]
    assert entry["user_name"] == "admin"
    assert entry["type"] == "agency"
    assert entry["content"] == "modelarts_agency"
    assert isinstance(entry["create_time"], int)


async def test_agency_names_follow_the_reference(api: Api) -> None:
    default = await api.call("POST", "/v2/{project_id}/agency", json={})
    assert default.json() == {"agency_name": "modelarts_agency"}
    suffixed = await api.call(
        "POST", "/v2/{project_id}/agency", json={"agency_name_suffix": "iam-user01"}
    )
    assert suffixed.json() == {"agency_name": "ma_agency_iam-user01"}
    too_long = await api.call(
        "POST", "/v2/{project_id}/agency", json={"agency_name_suffix": "x" * 51}
    )
    assert too_long.status_code == 400


async def test_authorize_a_user_then_delete(api: Api) -> None:
    user = await add_user(api.platform.db, api.platform.box, "dave", projects=[api.project_id])
    await api.call("POST", "/v2/{project_id}/agency", json={"agency_name_suffix": "dave"})
    created = await api.call(
        "POST", AUTHZ, json={"user_id": user.user_id, "type": "agency", "content": "ma_agency_dave"}
    )
    assert created.status_code == 200, created.text
    assert created.json() == {"result": "true"}
    body = await listed(api, "?sort_by=user_name&order=desc")
    assert [a["user_name"] for a in body["auth"]] == ["dave", "admin"]

    again = await api.call(
        "POST", AUTHZ, json={"user_id": user.user_id, "content": "ma_agency_dave"}
    )
    assert again.status_code == 400
    assert again.json()["error_code"] == "ModelArts.0424"

    deleted = await api.call("DELETE", AUTHZ + f"?user_id={user.user_id}")
    assert deleted.status_code == 200
    assert (await listed(api))["total_count"] == 1
    missing = await api.call("DELETE", AUTHZ + f"?user_id={user.user_id}")
    assert missing.status_code == 400
    assert missing.json()["error_code"] == "ModelArts.0429"


async def test_all_users_authorization_is_replaced_not_duplicated(api: Api) -> None:
    for suffix in ("one", "two"):
        await api.call("POST", "/v2/{project_id}/agency", json={"agency_name_suffix": suffix})
        response = await api.call(
            "POST", AUTHZ, json={"user_id": "all", "content": f"ma_agency_{suffix}"}
        )
        assert response.status_code == 200
    entries = (await listed(api))["auth"]
    everyone = [a for a in entries if a["user_id"] == "all"]
    assert [a["content"] for a in everyone] == ["ma_agency_two"]


async def test_delete_all_removes_every_authorization(api: Api) -> None:
    assert (await api.call("DELETE", AUTHZ + "?user_id=all")).status_code == 200
    assert (await listed(api))["total_count"] == 0


async def test_delete_needs_user_id(api: Api) -> None:
    response = await api.call("DELETE", AUTHZ)
    assert response.status_code == 400
    assert "user_id" in response.json()["error_msg"]


async def test_agency_must_exist(api: Api) -> None:
    response = await api.call("POST", AUTHZ, json={"user_id": "all", "content": "ghost"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "ModelArts.0420"


async def test_agency_authorization_needs_a_user(api: Api) -> None:
    response = await api.call("POST", AUTHZ, json={"content": "modelarts_agency"})
    assert response.status_code == 400
    assert "user_id" in response.json()["error_msg"]


async def test_user_outside_the_project_cannot_be_authorized(api: Api) -> None:
    response = await api.call(
        "POST", AUTHZ, json={"user_id": "f" * 32, "content": "modelarts_agency"}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "ModelArts.0422"


async def test_credential_authorization_checks_the_pair_and_hides_the_secret(api: Api) -> None:
    user = await add_user(api.platform.db, api.platform.box, "erin", projects=[api.project_id])
    wrong = await api.call(
        "POST",
        AUTHZ,
        json={
            "type": "credential",
            "content": user.keys.access_key,
            "secret_key": "not-the-secret",
        },
    )
    assert wrong.status_code == 400
    assert wrong.json()["error_code"] == "ModelArts.0425"
    no_secret = await api.call(
        "POST", AUTHZ, json={"type": "credential", "content": user.keys.access_key}
    )
    assert no_secret.status_code == 400
    ok = await api.call(
        "POST",
        AUTHZ,
        json={
            "type": "credential",
            "content": user.keys.access_key,
            "secret_key": user.keys.secret_key,
        },
    )
    assert ok.status_code == 200, ok.text
    listing = await api.call("GET", AUTHZ)
    assert user.keys.secret_key not in listing.text
    entry = next(a for a in listing.json()["auth"] if a["user_name"] == "erin")
    assert entry == {**entry, "type": "credential", "content": user.keys.access_key}
    assert "secret_key" not in entry


async def test_paging(api: Api) -> None:
    for name in ("u1", "u2", "u3"):
        user = await add_user(api.platform.db, api.platform.box, name, projects=[api.project_id])
        await api.call("POST", AUTHZ, json={"user_id": user.user_id, "content": "modelarts_agency"})
    page = await listed(api, "?limit=2&offset=1&sort_by=user_name")
    assert page["total_count"] == 4
    assert [a["user_name"] for a in page["auth"]] == ["u1", "u2"]


async def test_require_authorization_guards_work(api: Api) -> None:
    user = await add_user(api.platform.db, api.platform.box, "frank", projects=[api.project_id])
    async with api.platform.db.session() as session:
        try:
            await require_authorization(session, project_id=api.project_id, user_id=user.user_id)
        except OpenArtsError as error:
            assert error.error_code == "ModelArts.2785"
            assert error.status_code == 403
        else:
            raise AssertionError("an unauthorized user passed")
    await api.call("POST", AUTHZ, json={"user_id": "all", "content": "modelarts_agency"})
    async with api.platform.db.session() as session:
        await require_authorization(session, project_id=api.project_id, user_id=user.user_id)
