from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkmodelarts.v1 import ModelArtsClient

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
        process.stop()


@pytest.fixture
def sdk(server: ServerProcess) -> ModelArtsClient:
    row = server.credentials()
    return sdk_client(
        server.endpoint, row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
    )
