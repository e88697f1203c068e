"""Request signatures the embedded endpoint accepts, header and query (presigned) forms:

- AWS Signature Version 4, as boto3 and most S3 tools sign;
- the HMAC-SHA1 scheme of S3 V2 and OBS (``AWS AK:sig`` / ``OBS AK:sig``), which the OBS
  Python SDK uses by default when it talks to an endpoint by IP address.

Each verifier gets the secret through ``secret_for(access_key)`` and returns the access
key it verified, or raises S3Error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from openarts.obs_endpoint.errors import S3Error

SecretLookup = Callable[[str], Awaitable[str | None]]

MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_S = 7 * 24 * 3600
UNSIGNED = "UNSIGNED-PAYLOAD"
_V4_DATE = re.compile(r"^\d{8}T\d{6}Z$")

# Sub-resources that the V2/OBS string to sign includes (lower-case names).
V2_SUBRESOURCES = frozenset(
    {
        "acl",
        "backtosource",
        "policy",
        "torrent",
        "logging",
        "location",
        "storageinfo",
        "quota",
        "storageclass",
        "storagepolicy",
        "requestpayment",
        "versions",
        "versioning",
        "versionid",
        "uploads",
        "uploadid",
        "partnumber",
        "website",
        "notification",
        "dispolicy",
        "lifecycle",
        "deletebucket",
        "delete",
        "cors",
        "restore",
        "tagging",
        "replication",
        "metadata",
        "encryption",
        "publicaccessblock",
        "bucketstatus",
        "policystatus",
        "inventory",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "append",
        "position",
        "truncate",
        "modify",
        "rename",
        "length",
        "name",
        "fileinterface",
    }
)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    raw_path: str  # as sent, percent-encoded, without the query
    query: list[tuple[str, str]]  # decoded pairs, in order
    headers: dict[str, str]  # lower-case names


@dataclass(frozen=True, slots=True)
class Verified:
    access_key: str
    payload_hash: str  # for V4 header auth: what the body must hash to, or UNSIGNED/STREAMING


async def authenticate(request: SignedRequest, secret_for: SecretLookup, now: datetime) -> Verified:
    authorization = request.headers.get("authorization", "")
    params = {k: v for k, v in request.query}
    if authorization.startswith("AWS4-HMAC-SHA256 "):
        return await _v4_header(request, authorization, secret_for, now)
    if authorization.startswith(("AWS ", "OBS ")):
        return await _v2_header(request, authorization, secret_for, now)
    if params.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256":
        return await _v4_query(request, params, secret_for, now)
    if "Signature" in params and ("AWSAccessKeyId" in params or "AccessKeyId" in params):
        return await _v2_query(request, params, secret_for, now)
    if authorization:
        raise S3Error("InvalidArgument", "unsupported Authorization scheme")
    raise S3Error("AccessDenied", "anonymous access is not allowed; sign the request")


_PROTOCOL_PREFIXES = ("x-amz-", "x-obs-")


def _require_signed(headers: dict[str, str], signed: set[str], *, family: str = "") -> None:
    """Refuse protocol headers the signature does not cover: they change what a request
    does (copy sources, metadata), so an unsigned one could turn a presigned URL into
    something its signer never allowed."""
    for name in headers:
        if (
            name.startswith(_PROTOCOL_PREFIXES)
            and name not in signed
            and not (family and name.startswith(family))
        ):
            raise S3Error("AccessDenied", f"header {name} is not covered by the signature")


async def _secret(secret_for: SecretLookup, access_key: str) -> str:
    secret = await secret_for(access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId", "the access key does not exist")
    return secret


# -- Signature Version 4 ---------------------------------------------------------------
def _v4_fields(authorization: str) -> dict[str, str]:
    fields = {}
    for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    return fields


def canonical_query_v4(query: list[tuple[str, str]], *, skip: str | None = None) -> str:
    pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in query if k != skip)
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_uri_v4(raw_path: str) -> str:
    return quote(unquote(raw_path), safe="/~")


def _canonical_request_v4(
    request: SignedRequest, signed_headers: list[str], payload_hash: str, *, skip: str | None
) -> str:
    lines = []
    for name in signed_headers:
        if name not in request.headers:
            raise S3Error("SignatureDoesNotMatch", f"signed header {name} is missing")
        lines.append(f"{name}:{' '.join(request.headers[name].split())}\n")
    return "\n".join(
        (
            request.method,
            canonical_uri_v4(request.raw_path),
            canonical_query_v4(request.query, skip=skip),
            "".join(lines),
            ";".join(signed_headers),
            payload_hash,
        )
    )


def signing_key_v4(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _check_v4(
    request: SignedRequest,
    secret: str,
    credential: str,
    amz_date: str,
    signed_headers: list[str],
    payload_hash: str,
    signature: str,
    skip: str | None,
) -> None:
    try:
        _, date, region, service, terminal = credential.split("/")
    except ValueError:
        raise S3Error("InvalidArgument", f"malformed credential {credential!r}") from None
    if terminal != "aws4_request" or not amz_date.startswith(date):
        raise S3Error("SignatureDoesNotMatch", "the credential scope does not match the date")
    canonical = _canonical_request_v4(request, signed_headers, payload_hash, skip=skip)
    to_sign = "\n".join(
        (
            "AWS4-HMAC-SHA256",
            amz_date,
            f"{date}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        )
    )
    key = signing_key_v4(secret, date, region, service)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )


def _parse_v4_date(value: str) -> datetime:
    problem = f"X-Amz-Date {value!r} is not a time in the form YYYYMMDDTHHMMSSZ"
    if not _V4_DATE.fullmatch(value):
        raise S3Error("AccessDenied", problem)
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise S3Error("AccessDenied", problem) from None


async def _v4_header(
    request: SignedRequest, authorization: str, secret_for: SecretLookup, now: datetime
) -> Verified:
    fields = _v4_fields(authorization)
    credential = fields.get("Credential", "")
    access_key = credential.split("/", 1)[0]
    amz_date = request.headers.get("x-amz-date", "")
    if not amz_date:
        raise S3Error("AccessDenied", "X-Amz-Date is missing")
    if abs(now - _parse_v4_date(amz_date)) > MAX_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the server's time is too large.",
        )
    payload_hash = request.headers.get("x-amz-content-sha256", "")
    if not payload_hash:
        raise S3Error("InvalidRequest", "x-amz-content-sha256 is missing")
    signed = fields.get("SignedHeaders", "").split(";")
    _require_signed(request.headers, set(signed))
    secret = await _secret(secret_for, access_key)
    _check_v4(
        request,
        secret,
        credential,
        amz_date,
        signed,
        payload_hash,
        fields.get("Signature", ""),
        skip=None,
    )
    return Verified(access_key, payload_hash)


async def _v4_query(
    request: SignedRequest, params: dict[str, str], secret_for: SecretLookup, now: datetime
) -> Verified:
    credential = params.get("X-Amz-Credential", "")
    access_key = credential.split("/", 1)[0]
    signed_at = _parse_v4_date(params.get("X-Amz-Date", ""))
    try:
        expires = int(params.get("X-Amz-Expires", ""))
    except ValueError:
        raise S3Error("AccessDenied", "X-Amz-Expires must be a number of seconds") from None
    if not 1 <= expires <= MAX_PRESIGN_S:
        raise S3Error("AccessDenied", f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_S}")
    if now > signed_at + timedelta(seconds=expires):
        raise S3Error("AccessDenied", "Request has expired")
    if signed_at - now > MAX_SKEW:
        raise S3Error("AccessDenied", "Request is not valid yet")
    signed = params.get("X-Amz-SignedHeaders", "host").split(";")
    _require_signed(request.headers, set(signed))
    secret = await _secret(secret_for, access_key)
    _check_v4(
        request,
        secret,
        credential,
        params.get("X-Amz-Date", ""),
        signed,
        request.headers.get("x-amz-content-sha256", UNSIGNED),
        params.get("X-Amz-Signature", ""),
        skip="X-Amz-Signature",
    )
    return Verified(access_key, UNSIGNED)


# -- S3 V2 / OBS HMAC-SHA1 --------------------------------------------------------------
def _v2_string_to_sign(request: SignedRequest, prefix: str, date_line: str) -> str:
    headers = request.headers
    interesting = {
        name: value
        for name, value in headers.items()
        if name.startswith(prefix) and name != f"{prefix}date"
    }
    if f"{prefix}date" in headers:
        # With x-amz-date / x-obs-date, that header is signed and the Date line is empty.
        interesting[f"{prefix}date"] = headers[f"{prefix}date"]
        date_line = "" if date_line == headers.get("date", "") else date_line
    lines = [
        request.method,
        headers.get("content-md5", ""),
        headers.get("content-type", ""),
        date_line,
    ]
    canonical_headers = "".join(
        f"{name}:{value.strip()}\n" for name, value in sorted(interesting.items())
    )
    sub = sorted(
        (k, v) for k, v in request.query if k.lower() in V2_SUBRESOURCES or k.startswith(prefix)
    )
    resource = request.raw_path or "/"
    if sub:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in sub)
    return "\n".join(lines) + "\n" + canonical_headers + resource


def _v2_signature(secret: str, to_sign: str) -> str:
    digest = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


async def _v2_header(
    request: SignedRequest, authorization: str, secret_for: SecretLookup, now: datetime
) -> Verified:
    scheme, _, rest = authorization.partition(" ")
    access_key, _, signature = rest.rpartition(":")
    prefix = "x-obs-" if scheme == "OBS" else "x-amz-"
    sent = request.headers.get(f"{prefix}date") or request.headers.get("date", "")
    try:
        signed_at = parsedate_to_datetime(sent)
        if signed_at.tzinfo is None:
            raise ValueError("no time zone")
    except (TypeError, ValueError, IndexError):
        raise S3Error(
            "AccessDenied", "a Date (or x-amz-date / x-obs-date) header is required"
        ) from None
    if abs(now - signed_at) > MAX_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the server's time is too large.",
        )
    _require_signed(request.headers, set(), family=prefix)
    secret = await _secret(secret_for, access_key)
    to_sign = _v2_string_to_sign(request, prefix, request.headers.get("date", ""))
    if not hmac.compare_digest(_v2_signature(secret, to_sign), signature):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return Verified(access_key, UNSIGNED)


async def _v2_query(
    request: SignedRequest, params: dict[str, str], secret_for: SecretLookup, now: datetime
) -> Verified:
    access_key = params.get("AWSAccessKeyId") or params.get("AccessKeyId", "")
    try:
        expires = int(params.get("Expires", "").strip() or "x")
    except ValueError:
        raise S3Error("AccessDenied", "Expires must be a UNIX time") from None
    if now.timestamp() > expires:
        raise S3Error("AccessDenied", "Request has expired")
    if expires - now.timestamp() > MAX_PRESIGN_S:
        raise S3Error("AccessDenied", f"a presigned URL can live at most {MAX_PRESIGN_S} s")
    prefix = "x-amz-" if "AWSAccessKeyId" in params else "x-obs-"
    _require_signed(request.headers, set(), family=prefix)
    secret = await _secret(secret_for, access_key)
    unsigned = SignedRequest(
        request.method,
        request.raw_path,
        [(k, v) for k, v in request.query if k not in ("Signature",)],
        request.headers,
    )
    to_sign = _v2_string_to_sign(unsigned, prefix, str(expires))
    if not hmac.compare_digest(_v2_signature(secret, to_sign), params["Signature"]):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return Verified(access_key, UNSIGNED)
