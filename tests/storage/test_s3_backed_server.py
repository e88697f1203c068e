"""A server configured with an S3 store (moto here) serves it through its own endpoint."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from openarts.testing.moto import MotoServer
from openarts.testing.server import ServerProcess
from tests.storage.conftest import admin_s3, s3_client

pytestmark = pytest.mark.e2e


def test_endpoint_over_an_s3_store(moto_server: MotoServer, tmp_path: Path) -> None:
    env = {
        "OPENARTS_STORAGE": "s3",
        "OPENARTS_S3_ENDPOINT": moto_server.endpoint,
        "OPENARTS_S3_ACCESS_KEY": "moto",
        "OPENARTS_S3_SECRET_KEY": "moto",
    }
    server = ServerProcess(tmp_path / "home", env=env).start()
    try:
        s3 = admin_s3(server)
        s3.create_bucket(Bucket="through")
        s3.put_object(Bucket="through", Key="dir/a.txt", Body=b"via moto")
        assert s3.get_object(Bucket="through", Key="dir/a.txt")["Body"].read() == b"via moto"
        # The object really lives in the backing store, not in the server's home.
        direct = s3_client(moto_server.endpoint, "moto", "moto")
        assert direct.get_object(Bucket="through", Key="dir/a.txt")["Body"].read() == b"via moto"
        assert not (server.home / "obs" / "through").exists()
        listed = s3.list_objects_v2(Bucket="through", Delimiter="/")
        assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["dir/"]
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "through", "Key": "dir/a.txt"}
        )
        assert httpx.get(url).content == b"via moto"
        s3.delete_object(Bucket="through", Key="dir/a.txt")
        s3.delete_bucket(Bucket="through")
        # A bucket that exists upstream but belongs to no project is not handed out.
        direct.create_bucket(Bucket="someone-elses")
        with pytest.raises(ClientError) as caught:
            s3.create_bucket(Bucket="someone-elses")
        assert caught.value.response["Error"]["Code"] == "BucketAlreadyExists"
    finally:
        server.stop()


def test_s3_store_needs_its_settings(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home", env={"OPENARTS_STORAGE": "s3"})
    with pytest.raises(RuntimeError, match="OPENARTS_S3_ENDPOINT"):
        server.start()
