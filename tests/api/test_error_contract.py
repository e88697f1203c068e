"""Bad input gets a ModelArts-shaped 400/404/405/413, never a 422 or a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter

from openarts.server.app import build_server
from tests.conftest import Api, make_settings

AUTHZ = "/v2/{project_id}/authorizations"


@pytest.fixture
def api(light_api: Api) -> Api:
    """What these requests answer needs nothing to run: no loops, a fake backend."""
    return light_api


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "error_msg"}
    assert body["error_code"] == code
    for word in words:
        assert word in body["error_msg"], body["error_msg"]
    assert response.headers.get("X-Request-Id")


async def test_invalid_json_answers_400(api: Api) -> None:
    response = await api.call(
        "POST", AUTHZ, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "ModelArts.2787", "JSON")


async def test_missing_mandatory_field_names_it(api: Api) -> None:
    response = await api.call("POST", AUTHZ, json={"type": "agency", "user_id": "all"})
    assert_error(response, 400, "ModelArts.0101", "content")


async def test_wrong_type_names_the_field(api: Api) -> None:
    response = await api.call("POST", AUTHZ, json={"content": 12, "user_id": "all"})
    assert_error(response, 400, "ModelArts.0101", "content")


async def test_unknown_enum_value_names_the_field(api: Api) -> None:
    response = await api.call("POST", AUTHZ, json={"content": "x", "type": "magic"})
    assert_error(response, 400, "ModelArts.0101", "type")


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "offset=-1", "limit=abc", "sort_by=age", "order=up"]
)
async def test_out_of_range_query_answers_400(api: Api, query: str) -> None:
    response = await api.call("GET", f"{AUTHZ}?{query}")
    assert_error(response, 400, "ModelArts.0101", query.split("=")[0])


async def test_body_that_is_not_an_object_answers_400(api: Api) -> None:
    response = await api.call("POST", AUTHZ, json=["content"])
    assert_error(response, 400, "ModelArts.0101")


async def test_unknown_route_answers_404_json(api: Api) -> None:
    response = await api.client.get("/v1/nothing/here")
    assert_error(response, 404, "ModelArts.2836", "/v1/nothing/here")


async def test_wrong_method_answers_405_json(api: Api) -> None:
    response = await api.client.put("/health")
    assert_error(response, 405, "ModelArts.2803")


async def test_oversized_body_answers_413(api: Api) -> None:
    limit = api.platform.settings.max_body_bytes
    response = await api.call(
        "POST",
        "/v2/{project_id}/agency",
        content=b"x" * (limit + 1),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413, "ModelArts.4104")


async def test_rejected_input_changes_nothing(api: Api) -> None:
    before = (await api.call("GET", AUTHZ)).json()
    await api.call("POST", AUTHZ, json={"content": "no-such-agency", "user_id": "all"})
    await api.call("POST", AUTHZ, json={"content": 5})
    assert (await api.call("GET", AUTHZ)).json() == before


async def test_internal_error_answers_500_with_request_id_and_no_trace(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_server(make_settings(tmp_path / "home", database_url)).api
    broken = APIRouter()

    @broken.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.include_router(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/boom")
    request_id = response.headers["X-Request-Id"]
    assert_error(response, 500, "ModelArts.0010", request_id)
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert any(request_id in record.getMessage() for record in caplog.records)
    assert any(
        "secret internals" in (record.exc_text or "") or record.exc_info
        for record in caplog.records
    )


async def test_openapi_documents_400_not_422(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
    assert "/v2/{project_id}/authorizations" in schema["paths"]
    assert "/v3/auth/tokens" in schema["paths"]
    assert (await api.client.get("/docs")).status_code == 200


async def test_oversized_chunked_body_answers_413(api: Api) -> None:
    limit = api.platform.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    url = f"/v2/{api.project_id}/agency"
    response = await api.client.post(
        url, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "ModelArts.4104")
