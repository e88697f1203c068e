from __future__ import annotations

import json as jsonlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkmodelarts.v1 import ModelArtsClient
from urllib3 import encode_multipart_formdata

from openarts.testing.server import ServerProcess


def sdk_client(endpoint: str, ak: str, sk: str, project_id: str) -> ModelArtsClient:
    return (
        ModelArtsClient.new_builder()
        .with_credentials(BasicCredentials(ak, sk, project_id))
        .with_endpoint(endpoint)
        .build()
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "home").start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture
def sdk(server: ServerProcess) -> ModelArtsClient:
    row = server.credentials()
    return sdk_client(
        server.endpoint, row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
    )


def sdk_signed(
    server: ServerProcess,
    method: str,
    path: str,
    body: bytes,
    sdk_date: str | None = None,
    content_type: str = "application/json",
) -> SdkRequest:
    row = server.credentials()
    headers = {"Content-Type": content_type}
    if sdk_date:
        headers["X-Sdk-Date"] = sdk_date
    request = SdkRequest(
        method=method,
        schema="http",
        host=f"127.0.0.1:{server.port}",
        resource_path=path.format(project_id=row["Project Id"]),
        query_params=[],
        header_params=headers,
        body=body,
    )
    credentials = BasicCredentials(row["Access Key Id"], row["Secret Access Key"])
    signed: SdkRequest = Signer(credentials).sign(request)
    return signed


def signed_call(
    server: ServerProcess,
    method: str,
    path: str,
    json: object = None,
    *,
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> requests.Response:
    """A request the SDK's own signer signed, for routes the SDK has no method for; with
    ``files``, a multipart form of them (name: (file name, bytes, type)) as curl's -F
    sends."""
    content_type = "application/json"
    if files is not None:
        body, content_type = encode_multipart_formdata(files)
    else:
        body = b"" if json is None else jsonlib.dumps(json).encode()
    signed = sdk_signed(server, method, path, body, content_type=content_type)
    return requests.request(
        method,
        f"{server.endpoint}{signed.uri}",
        data=body,
        headers=signed.header_params,
        timeout=10,
    )
