"""The endpoint's signature checks against the clients' own signers, without a network."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import unquote

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from obs import convertor
from obs.auth import Authentication

from openarts.obs_endpoint.errors import S3Error
from openarts.obs_endpoint.signatures import SignedRequest, Verified, authenticate

AK, SK = "TESTKEY", "test-secret"


async def secret_for(access_key: str) -> str | None:
    return SK if access_key == AK else None


def from_aws(request: AWSRequest) -> SignedRequest:
    path, _, raw_query = request.url.split("://", 1)[1].partition("/")[2].partition("?")
    pairs = [
        (unquote(k), unquote(v))
        for k, _, v in (item.partition("=") for item in raw_query.split("&") if item)
    ]
    headers = {
        k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
    }
    headers["host"] = "127.0.0.1:8081"
    return SignedRequest(request.method, "/" + path, pairs, headers)


async def check(request: SignedRequest) -> Verified:
    return await authenticate(request, secret_for, datetime.now(UTC))


async def test_sigv4_header_and_query_from_botocore() -> None:
    credentials = Credentials(AK, SK)
    put = AWSRequest(
        method="PUT",
        url="http://127.0.0.1:8081/data/a%20b/c.txt?uploadId=1&partNumber=2",
        data=b"body",
        headers={"Host": "127.0.0.1:8081"},
    )
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(put)
    verified = await check(from_aws(put))
    assert verified.access_key == AK and len(verified.payload_hash) == 64

    get = AWSRequest(
        method="GET", url="http://127.0.0.1:8081/data/x.txt", headers={"Host": "127.0.0.1:8081"}
    )
    S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=60).add_auth(get)
    assert (await check(from_aws(get))).access_key == AK

    wrong = AWSRequest(
        method="GET", url="http://127.0.0.1:8081/data/x.txt", headers={"Host": "127.0.0.1:8081"}
    )
    S3SigV4Auth(Credentials(AK, "other"), "s3", "us-east-1").add_auth(wrong)
    with pytest.raises(S3Error) as caught:
        await check(from_aws(wrong))
    assert caught.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("flavour", ["obs", "v2"])
async def test_obs_sdk_hmac_sha1_signatures(flavour: str) -> None:
    adapter = convertor.Adapter(flavour)
    date = format_datetime(datetime.now(UTC), usegmt=True)
    prefix = "x-obs-" if flavour == "obs" else "x-amz-"
    headers = {"Date": date, "Content-Type": "text/plain", f"{prefix}meta-team": "ml"}
    signer = Authentication(AK, SK, True, adapter, "127.0.0.1", False)
    auth = signer.doAuth("PUT", "data", "dir/f.txt", {"uploadId": "7", "partNumber": "1"}, headers)
    request = SignedRequest(
        "PUT",
        "/data/dir/f.txt",
        [("partNumber", "1"), ("uploadId", "7")],
        {**{k.lower(): v for k, v in headers.items()}, "authorization": auth["Authorization"]},
    )
    assert (await check(request)).access_key == AK
    tampered = SignedRequest("PUT", "/data/dir/g.txt", request.query, request.headers)
    with pytest.raises(S3Error):
        await check(tampered)


async def test_old_requests_and_unknown_keys_are_refused() -> None:
    old = AWSRequest(
        method="GET",
        url="http://127.0.0.1:8081/data/x",
        headers={"Host": "127.0.0.1:8081", "X-Amz-Date": "20200101T000000Z"},
    )
    S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(old)
    signed = from_aws(old)
    signed.headers["x-amz-date"] = "20200101T000000Z"
    with pytest.raises(S3Error) as caught:
        await check(signed)
    assert caught.value.code in ("RequestTimeTooSkewed", "SignatureDoesNotMatch")
    stranger = AWSRequest(method="GET", url="http://127.0.0.1:8081/", headers={"Host": "h"})
    S3SigV4Auth(Credentials("NOBODY", SK), "s3", "us-east-1").add_auth(stranger)
    with pytest.raises(S3Error) as unknown:
        await check(from_aws(stranger))
    assert unknown.value.code == "InvalidAccessKeyId"
