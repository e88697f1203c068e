"""The signature scheme against the Huawei SDK's own signer, without a network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from openarts.security import signing

AK, SK = "TESTACCESSKEY0000001", "test-secret-key"


def sdk_sign(
    method: str,
    path: str,
    query: list[tuple[str, object]],
    body: bytes,
    content_type: str = "application/json",
) -> SdkRequest:
    request = SdkRequest(
        method=method,
        schema="http",
        host="127.0.0.1:8080",
        resource_path=path,
        query_params=query,
        header_params={"Content-Type": content_type},
        body=body,
    )
    signed: SdkRequest = Signer(BasicCredentials(AK, SK)).sign(request)
    return signed


def verify_sdk_request(
    request: SdkRequest, *, body: bytes | None = None, now: datetime | None = None
) -> None:
    path, _, query = request.uri.partition("?")
    headers = {k.lower(): str(v) for k, v in request.header_params.items()}
    signing.verify(
        parsed=signing.parse_authorization(headers["authorization"]),
        secret_key=SK,
        method=request.method,
        raw_path=path,
        raw_query=query,
        headers=headers,
        body=request.body if body is None else body,
        now=now or datetime.now(UTC),
        max_skew_s=900,
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("GET", "/v1/p/os-user-config", [], b""),
        ("GET", "/v2/p/authorizations", [("sort_by", "user_name"), ("limit", 5)], b""),
        (
            "GET",
            "/v1/p/events",
            [("name", "a b/c~d"), ("resource", "pools"), ("ascend", True)],
            b"",
        ),
        ("POST", "/v2/p/authorizations", [], b'{"content": "x", "user_id": "all"}'),
        ("DELETE", "/v2/p/authorizations", [("user_id", "all")], b""),
        ("GET", "/v1/p/na%20me/", [], b""),
    ],
)
def test_requests_signed_by_the_sdk_verify(
    method: str, path: str, query: list[tuple[str, object]], body: bytes
) -> None:
    verify_sdk_request(sdk_sign(method, path, query, body))


def test_a_changed_body_fails() -> None:
    request = sdk_sign("POST", "/v2/p/agency", [], b'{"agency_name_suffix": "a"}')
    with pytest.raises(signing.SignatureError, match="signature"):
        verify_sdk_request(request, body=b'{"agency_name_suffix": "b"}')


def test_a_stale_date_fails() -> None:
    request = sdk_sign("GET", "/v1/p/quotas", [], b"")
    with pytest.raises(signing.SignatureError, match="15 minutes"):
        verify_sdk_request(request, now=datetime.now(UTC) + timedelta(minutes=16))


def test_unsigned_payload_is_refused_for_json() -> None:
    headers = {"content-type": "application/json", "x-sdk-content-sha256": "UNSIGNED-PAYLOAD"}
    with pytest.raises(signing.SignatureError, match="UNSIGNED-PAYLOAD"):
        signing._check_body_hash(b"{}", headers)


def test_unsigned_payload_is_allowed_for_uploads() -> None:
    request = sdk_sign("PUT", "/v1/p/upload", [], b"\x00binary", "application/octet-stream")
    assert request.header_params["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    verify_sdk_request(request)


def test_our_signer_matches_the_sdk() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ours = signing.sign(
        method="GET",
        url="http://127.0.0.1:8080/v1/p/events?resource=pools&name=x",
        access_key=AK,
        secret_key=SK,
        headers={"Content-Type": "application/json"},
        now=when,
    )
    request = SdkRequest(
        method="GET",
        schema="http",
        host="127.0.0.1:8080",
        resource_path="/v1/p/events",
        query_params=[("resource", "pools"), ("name", "x")],
        header_params={"Content-Type": "application/json", "X-Sdk-Date": "20260102T030405Z"},
        body=b"",
    )
    theirs = Signer(BasicCredentials(AK, SK)).sign(request)
    assert ours["Authorization"] == theirs.header_params["Authorization"]


@pytest.mark.parametrize(
    "header",
    ["Basic abc", "SDK-HMAC-SHA256 Access=AK", "SDK-HMAC-SHA256 SignedHeaders=a, Signature=b"],
)
def test_malformed_headers_are_reported_as_such(header: str) -> None:
    with pytest.raises(signing.SignatureError) as caught:
        signing.parse_authorization(header)
    assert caught.value.malformed


def test_credential_form_is_understood() -> None:
    parsed = signing.parse_authorization(
        "SDK-HMAC-SHA256 Credential=AKID/20150907//ec2/sdk_request, "
        "SignedHeaders=content-type;host;x-sdk-date, Signature=abc"
    )
    assert parsed.access_key == "AKID"
    assert parsed.signed_headers == ("content-type", "host", "x-sdk-date")


@pytest.mark.parametrize("value", ["2026-01-02T03:04:05Z", "20261302T030405Z", "", "20260102"])
def test_bad_dates_are_malformed(value: str) -> None:
    request = sdk_sign("GET", "/v1/p/quotas", [], b"")
    request.header_params["X-Sdk-Date"] = value
    with pytest.raises(signing.SignatureError) as caught:
        verify_sdk_request(request)
    assert caught.value.malformed
