from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from openarts.storage.base import ObjectStore
from openarts.storage.local import LocalStore
from openarts.storage.s3 import S3Store
from openarts.storage.s3 import s3_client as make_client
from openarts.testing.moto import MotoServer
from openarts.testing.server import ServerProcess


@pytest.fixture(scope="module")
def obs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("obs") / "home").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


def s3_client(endpoint: str, access_key: str, secret_key: str) -> Any:
    return make_client(endpoint, access_key, secret_key, retries={"max_attempts": 1})


def admin_s3(server: ServerProcess) -> Any:
    row = server.credentials()
    return s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])


@pytest.fixture(params=["local", "embedded", "moto"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    """The same store contract, over every driver and two S3 implementations."""
    if request.param == "local":
        store: ObjectStore = LocalStore(tmp_path / "obs")
    elif request.param == "embedded":
        server: ServerProcess = request.getfixturevalue("obs_server")
        row = server.credentials()
        store = S3Store(
            endpoint=server.obs_endpoint,
            access_key=row["Access Key Id"],
            secret_key=row["Secret Access Key"],
        )
    else:
        moto: MotoServer = request.getfixturevalue("moto_server")
        store = S3Store(endpoint=moto.endpoint, access_key="moto", secret_key="moto")
    try:
        yield store
    finally:
        await store.close()
