"""boto3 and the OBS Python SDK against the embedded S3-compatible endpoint."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from obs import GetObjectHeader, ObsClient

from openarts.security.secrets_box import SecretBox
from openarts.storage.presign import PlatformPresigner
from openarts.testing.server import ServerProcess
from tests.storage.conftest import admin_s3, s3_client

pytestmark = pytest.mark.e2e


@pytest.fixture
def s3(obs_server: ServerProcess) -> Any:
    return admin_s3(obs_server)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"b-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


def test_boto3_object_round_trip(s3: Any, bucket: str) -> None:
    put = s3.put_object(
        Bucket=bucket,
        Key="dir/hello.txt",
        Body=b"hello world",
        ContentType="text/plain",
        Metadata={"team": "ml"},
    )
    assert put["ETag"] == f'"{hashlib.md5(b"hello world").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"team": "ml"}
    ranged = s3.get_object(Bucket=bucket, Key="dir/hello.txt", Range="bytes=6-10")
    assert ranged["Body"].read() == b"world"
    assert ranged["ContentRange"] == "bytes 6-10/11"
    assert (
        s3.get_object(Bucket=bucket, Key="dir/hello.txt", Range="bytes=-5")["Body"].read()
        == b"world"
    )
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="dir/hello.txt", Range="bytes=50-60")
    assert error_code(caught) == "InvalidRange"

    s3.copy_object(
        Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "dir/hello.txt"}
    )
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["copy.txt", "dir/hello.txt"]
    grouped = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["dir/"]
    s3.delete_object(Bucket=bucket, Key="copy.txt")
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "dir/hello.txt"}]})
    assert [d["Key"] for d in deleted["Deleted"]] == ["dir/hello.txt"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="copy.txt")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_listing_pages_with_continuation_tokens(s3: Any, bucket: str) -> None:
    for index in range(7):
        s3.put_object(Bucket=bucket, Key=f"k{index}", Body=b"")
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 3}
    ):
        keys += [o["Key"] for o in page["Contents"]]
    assert keys == [f"k{i}" for i in range(7)]
    v1 = [
        o["Key"]
        for page in s3.get_paginator("list_objects").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 2}
        )
        for o in page["Contents"]
    ]
    assert v1 == keys


def test_fifty_megabyte_multipart_upload(s3: Any, bucket: str) -> None:
    data = os.urandom(50 * 1024 * 1024)
    config = TransferConfig(
        multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024
    )
    s3.upload_fileobj(io.BytesIO(data), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-7"')
    out = io.BytesIO()
    s3.download_fileobj(bucket, "big.bin", out)
    assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(data).digest()


def test_aborted_multipart_leaves_nothing(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="partial.bin")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="partial.bin", UploadId=upload, PartNumber=1, Body=b"x")
    parts = s3.list_parts(Bucket=bucket, Key="partial.bin", UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1]
    s3.abort_multipart_upload(Bucket=bucket, Key="partial.bin", UploadId=upload)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    with pytest.raises(ClientError) as caught:
        s3.list_parts(Bucket=bucket, Key="partial.bin", UploadId=upload)
    assert error_code(caught) == "NoSuchUpload"


def test_uploads_in_progress_are_listed_and_aborted(s3: Any, bucket: str) -> None:
    first = s3.create_multipart_upload(Bucket=bucket, Key="big/a.bin")["UploadId"]
    second = s3.create_multipart_upload(Bucket=bucket, Key="big/b.bin")["UploadId"]
    s3.create_multipart_upload(Bucket=bucket, Key="other.bin")
    s3.upload_part(Bucket=bucket, Key="big/a.bin", UploadId=first, PartNumber=1, Body=b"x" * 10)
    listed = s3.list_multipart_uploads(Bucket=bucket, Prefix="big/")
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [
        ("big/a.bin", first),
        ("big/b.bin", second),
    ]
    assert not listed["IsTruncated"]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1)
    assert page["IsTruncated"] and [u["Key"] for u in page["Uploads"]] == ["big/a.bin"]
    rest = s3.list_multipart_uploads(
        Bucket=bucket, KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"]
    )
    assert [u["Key"] for u in rest["Uploads"]] == ["big/b.bin", "other.bin"]
    for upload in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]:
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_presigned_get_with_plain_http_and_expiry(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"for everyone")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=60
    )
    assert httpx.get(url).content == b"for everyone"
    tampered = url.replace("shared.txt", "other.txt")
    assert httpx.get(tampered).status_code == 403
    short = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=1
    )
    deadline = time.monotonic() + 10
    response = httpx.get(short)
    while response.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        response = httpx.get(short)
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content
    assert b"expired" in response.content


def test_wrong_secret_is_signature_does_not_match(obs_server: ServerProcess) -> None:
    row = obs_server.credentials()
    bad = s3_client(obs_server.obs_endpoint, row["Access Key Id"], "not-the-secret")
    with pytest.raises(ClientError) as caught:
        bad.list_buckets()
    assert error_code(caught) == "SignatureDoesNotMatch"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    unknown = s3_client(obs_server.obs_endpoint, "NOSUCHKEY", "x")
    with pytest.raises(ClientError) as unknown_caught:
        unknown.list_buckets()
    assert error_code(unknown_caught) == "InvalidAccessKeyId"
    assert httpx.get(f"{obs_server.obs_endpoint}/").status_code == 403


def test_path_traversal_is_refused(s3: Any, bucket: str, obs_server: ServerProcess) -> None:
    for key in ["../escape.txt", "a/../../escape.txt", ".openarts-meta/x"]:
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert not (obs_server.home / "obs" / "escape.txt").exists()
    assert not (obs_server.home / "escape.txt").exists()


def test_a_body_that_does_not_match_its_hash_is_refused(
    s3: Any, bucket: str, obs_server: ServerProcess
) -> None:
    row = obs_server.credentials()
    url = f"{obs_server.obs_endpoint}/{bucket}/liar.txt"
    # Signed for one body (its SHA-256 goes into the signature), sent with another.
    signed = AWSRequest(method="PUT", url=url, data=b"fake!!")
    S3SigV4Auth(
        Credentials(row["Access Key Id"], row["Secret Access Key"]), "s3", "us-east-1"
    ).add_auth(signed)
    response = httpx.put(url, content=b"actual", headers=dict(signed.headers.items()))
    assert response.status_code == 400
    assert b"XAmzContentSHA256Mismatch" in response.content
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_another_projects_bucket_is_refused(
    obs_server: ServerProcess, s3: Any, bucket: str
) -> None:
    def cli(*args: str) -> str:
        done = obs_server.cli(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    name = f"u{uuid.uuid4().hex[:8]}"
    cli("projects", "create", f"p-{name}")
    cli("users", "create", name, "--project", f"p-{name}")
    keys = cli("credentials", "create", "--user", name)
    ak = keys.split("access key: ")[1].split()[0]
    sk = keys.split("secret key: ")[1].split()[0]
    other = s3_client(obs_server.obs_endpoint, ak, sk)
    s3.put_object(Bucket=bucket, Key="private.txt", Body=b"admin only")
    calls: list[Callable[[], Any]] = [
        lambda: other.get_object(Bucket=bucket, Key="private.txt"),
        lambda: other.list_objects_v2(Bucket=bucket),
        lambda: other.put_object(Bucket=bucket, Key="x", Body=b"x"),
        lambda: other.delete_bucket(Bucket=bucket),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert error_code(caught) == "AccessDenied", caught.value.response
    assert bucket not in [b["Name"] for b in other.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as taken:
        other.create_bucket(Bucket=bucket)
    assert error_code(taken) == "BucketAlreadyExists"
    own = f"own-{name}"
    other.create_bucket(Bucket=own)
    assert [b["Name"] for b in other.list_buckets()["Buckets"]] == [own]


def test_concurrent_uploads_of_different_keys(s3: Any, bucket: str) -> None:
    payloads = {f"parallel/{i}": os.urandom(256 * 1024 + i) for i in range(12)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(
            pool.map(
                lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=item[1]),
                payloads.items(),
            )
        )
    for key, data in payloads.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data


def test_obs_python_sdk(obs_server: ServerProcess) -> None:
    row = obs_server.credentials()
    client = ObsClient(
        access_key_id=row["Access Key Id"],
        secret_access_key=row["Secret Access Key"],
        server=obs_server.obs_endpoint,
    )
    name = f"obs-{uuid.uuid4().hex[:12]}"
    assert client.createBucket(name).status == 200
    put = client.putContent(name, "dir/hello.txt", "hello from obs")
    assert put.status == 200
    got = client.getObject(name, "dir/hello.txt", loadStreamInMemory=True)
    assert got.status == 200 and got.body.buffer == b"hello from obs"
    listed = client.listObjects(name, prefix="dir/")
    assert [o.key for o in listed.body.contents] == ["dir/hello.txt"]
    copied = client.copyObject(name, "dir/hello.txt", name, "copy.txt")
    assert copied.status == 200
    signed = client.createSignedUrl("GET", name, "copy.txt", expires=60)
    assert httpx.get(signed.signedUrl).content == b"hello from obs"
    assert client.deleteObject(name, "copy.txt").status == 204
    ranged = client.getObject(
        name, "dir/hello.txt", loadStreamInMemory=True, headers=GetObjectHeader(range="6-9")
    )
    assert ranged.status == 206 and ranged.body.buffer == b"from"
    bad = ObsClient(
        access_key_id=row["Access Key Id"],
        secret_access_key="wrong",
        server=obs_server.obs_endpoint,
    )
    refused = bad.getObject(name, "dir/hello.txt")
    assert (refused.status, refused.errorCode) == (403, "SignatureDoesNotMatch")
    assert client.deleteObject(name, "dir/hello.txt").status == 204
    assert client.deleteBucket(name).status == 204


def test_platform_presigned_urls(s3: Any, bucket: str, obs_server: ServerProcess) -> None:
    s3.put_object(Bucket=bucket, Key="log.txt", Body=b"training log")
    box = SecretBox.from_key_file(obs_server.home / "secret.key")
    presigner = PlatformPresigner(box.derived_key("presign"), obs_server.obs_endpoint)
    url = presigner.url(bucket, "log.txt", 60)
    assert httpx.get(url).content == b"training log"
    assert httpx.put(url, content=b"x").status_code == 403
    assert httpx.get(url.replace("log.txt", "other.txt")).status_code == 403
    expired = presigner.url(bucket, "log.txt", 60, now=time.time() - 120)
    refused = httpx.get(expired)
    assert refused.status_code == 403 and b"expired" in refused.content


def test_obs_python_sdk_multipart_upload(obs_server: ServerProcess, tmp_path: Path) -> None:
    row = obs_server.credentials()
    client = ObsClient(
        access_key_id=row["Access Key Id"],
        secret_access_key=row["Secret Access Key"],
        server=obs_server.obs_endpoint,
    )
    name = f"obsmp-{uuid.uuid4().hex[:12]}"
    assert client.createBucket(name).status == 200
    data = os.urandom(50 * 1024 * 1024)
    source = tmp_path / "fifty.bin"
    source.write_bytes(data)
    uploaded = client.uploadFile(
        name, "fifty.bin", str(source), partSize=9 * 1024 * 1024, taskNum=4
    )
    assert uploaded.status == 200, uploaded.errorMessage
    head = client.getObjectMetadata(name, "fifty.bin")
    assert head.status == 200 and int(head.body.contentLength) == len(data)
    assert head.body.etag.strip('"').endswith("-6")
    got = client.getObject(name, "fifty.bin", loadStreamInMemory=True)
    assert hashlib.sha256(got.body.buffer).digest() == hashlib.sha256(data).digest()


def test_a_presigned_put_cannot_be_turned_into_a_copy(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"TOPSECRET")
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "up.txt"}, ExpiresIn=60
    )
    sneaky = httpx.put(url, content=b"", headers={"x-amz-copy-source": f"/{bucket}/secret.txt"})
    assert sneaky.status_code == 403
    assert b"not covered by the signature" in sneaky.content
    honest = httpx.put(url, content=b"uploaded")
    assert honest.status_code == 200
    assert s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"uploaded"


def test_bad_input_gets_s3_errors_not_500(obs_server: ServerProcess) -> None:
    endpoint = obs_server.obs_endpoint
    cases = [
        httpx.get(f"{endpoint}/abc/%FF"),
        httpx.get(
            f"{endpoint}/abc",
            headers={
                "Authorization": "AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/s3/aws4_request,"
                " SignedHeaders=host, Signature=x",
                "x-amz-date": "20249999T999999Z",
                "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            },
        ),
        httpx.get(
            f"{endpoint}/abc",
            headers={"Authorization": "AWS K:sig", "Date": "Mon, 01 Jan 2024 00:00:00 -0000"},
        ),
        httpx.get(f"{endpoint}/abc/k?X-OpenArts-Expires=%C2%B2&X-OpenArts-Signature=x"),
        httpx.get(f"{endpoint}/abc/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=%C2%B2"),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.request.url, response.text)
        assert b"<Error>" in response.content


def test_managed_copy_of_a_large_object_uses_upload_part_copy(s3: Any, bucket: str) -> None:
    data = os.urandom(9 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="large", Body=data)
    s3.copy(
        {"Bucket": bucket, "Key": "large"},
        bucket,
        "large-copy",
        Config=TransferConfig(
            multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
        ),
    )
    copied = s3.get_object(Bucket=bucket, Key="large-copy")
    assert copied["ETag"].endswith('-2"')
    assert copied["Body"].read() == data


def test_deleting_a_bucket_whose_folder_is_gone(s3: Any, obs_server: ServerProcess) -> None:
    s3.create_bucket(Bucket="vanishing")
    shutil.rmtree(obs_server.home / "obs" / "vanishing")
    s3.delete_bucket(Bucket="vanishing")
    assert "vanishing" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.create_bucket(Bucket="vanishing")
    s3.delete_bucket(Bucket="vanishing")
