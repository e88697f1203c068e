"""The official Huawei Cloud SDK against a real server process, unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import (
    AuthorizationRequest,
    CreateAuthorizationRequest,
    CreateModelArtsAgencyRequest,
    DeleteAuthorizationsRequest,
    GetAuthorizationsRequest,
    ListEventsRequest,
    ListResourceFlavorsRequest,
    ModelArtsAgencyRequest,
    ModelArtsClient,
    ShowOsConfigRequest,
    ShowOsQuotaRequest,
)

from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client, sdk_signed

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module: each test only reads, or changes what no other reads
    (its own authorizations)."""
    home: Path = tmp_path_factory.mktemp("sdk") / "home"
    process = ServerProcess(home).start()
    try:
        yield process
    finally:
        process.close()


def test_sdk_reads_configuration_quotas_flavors_and_events(sdk: ModelArtsClient) -> None:
    config = sdk.show_os_config(ShowOsConfigRequest())
    assert config.pool_quota == 15
    assert config.network_cidrs == ["172.16.0.0/12", "192.168.0.0/16"]
    quotas = sdk.show_os_quota(ShowOsQuotaRequest())
    assert {r.type for r in quotas.quotas.resources} == {"pool", "network"}
    flavors = sdk.list_resource_flavors(ListResourceFlavorsRequest(limit=2))
    assert len(flavors.items) == 2
    assert flavors.metadata._continue == "2"
    rest = sdk.list_resource_flavors(ListResourceFlavorsRequest(_continue="2"))
    assert {i.metadata.name for i in rest.items}.isdisjoint(
        {i.metadata.name for i in flavors.items}
    )
    events = sdk.list_events(ListEventsRequest(resource="pools", name="none-yet"))
    assert events.kind == "EventList"
    assert events.items == []


def test_sdk_manages_authorizations(sdk: ModelArtsClient) -> None:
    agency = sdk.create_model_arts_agency(
        CreateModelArtsAgencyRequest(body=ModelArtsAgencyRequest(agency_name_suffix="ci"))
    )
    assert agency.body == {"agency_name": "ma_agency_ci"}
    sdk.create_authorization(
        CreateAuthorizationRequest(
            body=AuthorizationRequest(user_id="all", type="agency", content="ma_agency_ci")
        )
    )
    listed = sdk.get_authorizations(GetAuthorizationsRequest(sort_by="user_name", order="asc"))
    assert listed.total_count == 2
    assert {a.content for a in listed.auth} == {"modelarts_agency", "ma_agency_ci"}
    sdk.delete_authorizations(DeleteAuthorizationsRequest(user_id="all"))
    assert sdk.get_authorizations(GetAuthorizationsRequest()).total_count == 0


def test_sdk_with_a_wrong_secret_gets_401(server: ServerProcess) -> None:
    row = server.credentials()
    client = sdk_client(server.endpoint, row["Access Key Id"], "w" * 40, row["Project Id"])
    with pytest.raises(ClientRequestException) as caught:
        client.show_os_config(ShowOsConfigRequest())
    assert caught.value.status_code == 401
    assert caught.value.error_code == "ModelArts.0208"


def test_sdk_on_a_foreign_project_gets_403(server: ServerProcess) -> None:
    row = server.credentials()
    client = sdk_client(server.endpoint, row["Access Key Id"], row["Secret Access Key"], "a" * 32)
    with pytest.raises(ClientRequestException) as caught:
        client.show_os_quota(ShowOsQuotaRequest())
    assert caught.value.status_code == 403


def test_body_tampered_after_the_sdk_signed_it_gets_401(server: ServerProcess) -> None:
    signed = sdk_signed(
        server, "POST", "/v2/{project_id}/agency", b'{"agency_name_suffix": "good"}'
    )
    honest = requests.post(
        f"{server.endpoint}{signed.uri}", data=signed.body, headers=signed.header_params, timeout=10
    )
    assert honest.status_code == 200, honest.text
    tampered = requests.post(
        f"{server.endpoint}{signed.uri}",
        data=b'{"agency_name_suffix": "evil"}',
        headers=signed.header_params,
        timeout=10,
    )
    assert tampered.status_code == 401
    assert tampered.json()["error_code"] == "ModelArts.0208"


def test_request_the_sdk_signed_sixteen_minutes_ago_gets_401(server: ServerProcess) -> None:
    old = (datetime.now(UTC) - timedelta(minutes=16)).strftime("%Y%m%dT%H%M%SZ")
    signed = sdk_signed(server, "GET", "/v1/{project_id}/os-user-config", b"", sdk_date=old)
    response = requests.get(
        f"{server.endpoint}{signed.uri}", headers=signed.header_params, timeout=10
    )
    assert response.status_code == 401
    assert "15 minutes" in response.json()["error_msg"]


def test_token_flow_over_http(server: ServerProcess) -> None:
    row = server.credentials()
    password = (server.home / "admin-password").read_text().strip()
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "admin", "password": password, "domain": {"name": "openarts"}}
                },
            },
            "scope": {"project": {"name": "default"}},
        }
    }
    issued = requests.post(f"{server.endpoint}/v3/auth/tokens", json=body, timeout=10)
    assert issued.status_code == 201
    token = issued.headers["X-Subject-Token"]
    response = requests.get(
        f"{server.endpoint}/v1/{row['Project Id']}/quotas",
        headers={"X-Auth-Token": token},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["X-Request-Id"]
