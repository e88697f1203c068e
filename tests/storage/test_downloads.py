"""Downloads from the embedded endpoint, which the kernel sends straight from the stored
file: every range comes back byte for byte, keep-alive connections go on after one, and a
client that goes away mid-body leaves the server answering."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from openarts.testing.server import ServerProcess
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

SIZE = 5 * 1024 * 1024 + 12345


@pytest.fixture
def s3(obs_server: ServerProcess) -> Any:
    return admin_s3(obs_server)


@pytest.fixture
def stored(s3: Any) -> tuple[str, bytes]:
    bucket = f"d-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(SIZE)
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body)
    return bucket, body


def test_whole_objects_and_ranges_come_back_byte_for_byte(
    s3: Any, stored: tuple[str, bytes]
) -> None:
    bucket, body = stored
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == body
    for asked, first, last in [
        ("bytes=0-0", 0, 0),
        ("bytes=1000-2000000", 1000, 2000000),
        (f"bytes={SIZE - 10}-", SIZE - 10, SIZE - 1),
        ("bytes=-777", SIZE - 777, SIZE - 1),
        (f"bytes=4000000-{SIZE + 50}", 4000000, SIZE - 1),
    ]:
        got = s3.get_object(Bucket=bucket, Key="big.bin", Range=asked)
        assert got["ContentRange"] == f"bytes {first}-{last}/{SIZE}", asked
        assert got["Body"].read() == body[first : last + 1], asked
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == SIZE
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


def test_one_connection_serves_several_downloads(s3: Any, stored: tuple[str, bytes]) -> None:
    bucket, body = stored
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "big.bin"})
    with httpx.Client(limits=httpx.Limits(max_connections=1)) as client:
        for _ in range(3):
            response = client.get(url)
            assert response.status_code == 200
            assert response.content == body
        small = client.get(url, headers={"Range": "bytes=10-19"})
        assert small.content == body[10:20]


def test_a_client_that_leaves_mid_body_does_not_stop_the_server(
    s3: Any, stored: tuple[str, bytes]
) -> None:
    bucket, body = stored
    url = urlsplit(
        s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "big.bin"})
    )
    assert url.hostname is not None and url.port is not None
    for _ in range(5):
        with socket.create_connection((url.hostname, url.port), timeout=10) as raw:
            raw.sendall(
                f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()
            )
            assert raw.recv(65536).startswith(b"HTTP/1.1 200")
            # Gone after the first bytes, with most of the body unsent.
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == body
