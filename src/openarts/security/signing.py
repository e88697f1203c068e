"""The SDK-HMAC-SHA256 request signature, as the Huawei Cloud SDKs compute it.

Both sides live here: ``verify`` for the server and ``sign`` for our own clients (tests,
benchmarks, the CLI). The canonical request is:

    METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash

and the string to sign is ``SDK-HMAC-SHA256 \n X-Sdk-Date \n hex(sha256(canonical))``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DATE_HEADER = "x-sdk-date"
CONTENT_HASH_HEADER = "x-sdk-content-sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
_DATE_SHAPE = re.compile(r"\d{8}T\d{6}Z")


class SignatureError(Exception):
    """The request's signature cannot be accepted; ``reason`` says why, without secrets."""

    def __init__(self, reason: str, *, malformed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.malformed = malformed


@dataclass(frozen=True, slots=True)
class ParsedAuthorization:
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError(f"unsupported signing algorithm {algorithm!r}", malformed=True)
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name] = field_value.strip()
    # The SDKs send Access=AK; older API Gateway signers send Credential=AK/date/...
    access_key = fields.get("Access") or fields.get("Credential", "").split("/", 1)[0]
    signed = fields.get("SignedHeaders", "")
    signature = fields.get("Signature", "")
    if not access_key or not signed or not signature:
        raise SignatureError(
            "the Authorization header needs Access, SignedHeaders and Signature", malformed=True
        )
    return ParsedAuthorization(access_key, tuple(signed.lower().split(";")), signature)


def canonical_uri(raw_path: str) -> str:
    path = "/".join(quote(segment, safe="~") for segment in unquote(raw_path).split("/"))
    return path if path.endswith("/") else path + "/"


def canonical_query(raw_query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((unquote(key), unquote(value)))
    pairs.sort()
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    if not body:
        return EMPTY_HASH
    declared = headers.get(CONTENT_HASH_HEADER)
    if declared:
        return declared
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str:
    try:
        header_lines = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers)
    except KeyError as missing:
        raise SignatureError(f"signed header {missing.args[0]!r} is not in the request") from None
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query),
            header_lines,
            ";".join(signed_headers),
            payload_hash(body, headers),
        )
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def compute_signature(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_body_hash(body: bytes, headers: Mapping[str, str]) -> None:
    declared = headers.get(CONTENT_HASH_HEADER)
    if not declared or not body:
        return
    if declared == UNSIGNED_PAYLOAD:
        # The SDKs leave only non-JSON uploads unsigned; a JSON body must be covered.
        if headers.get("content-type", "").startswith("application/json"):
            raise SignatureError("a JSON body cannot be sent as UNSIGNED-PAYLOAD")
        return
    if not hmac.compare_digest(declared, hashlib.sha256(body).hexdigest()):
        raise SignatureError("the body does not match X-Sdk-Content-Sha256")


def _parse_sdk_date(value: str) -> datetime:
    # By hand rather than strptime, which costs more than the rest of the check.
    if not _DATE_SHAPE.fullmatch(value):
        raise SignatureError(
            f"X-Sdk-Date {value!r} is not in the form YYYYMMDDTHHMMSSZ", malformed=True
        )
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        raise SignatureError(f"X-Sdk-Date {value!r} is not a real time", malformed=True) from None


def verify(
    *,
    parsed: ParsedAuthorization,
    secret_key: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    max_skew_s: float,
) -> None:
    """Raise SignatureError unless the request was signed with ``secret_key`` just now.

    ``headers`` must have lower-case names.
    """
    sdk_date = headers.get(DATE_HEADER)
    if not sdk_date:
        raise SignatureError("the X-Sdk-Date header is missing", malformed=True)
    if DATE_HEADER not in parsed.signed_headers:
        raise SignatureError("X-Sdk-Date must be one of the signed headers", malformed=True)
    signed_at = _parse_sdk_date(sdk_date)
    if abs((now - signed_at).total_seconds()) > max_skew_s:
        raise SignatureError(
            f"X-Sdk-Date {sdk_date} is more than {int(max_skew_s // 60)} minutes from the "
            "server's clock"
        )
    _check_body_hash(body, headers)
    canonical = canonical_request(method, raw_path, raw_query, headers, parsed.signed_headers, body)
    expected = compute_signature(secret_key, string_to_sign(canonical, sdk_date))
    if not hmac.compare_digest(expected, parsed.signature):
        raise SignatureError("the signature does not match the request")


def sign(
    *,
    method: str,
    url: str,
    access_key: str,
    secret_key: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers (the given ones plus Host, X-Sdk-Date and Authorization) for a signed request."""
    parts = urlsplit(url)
    out = dict(headers or {})
    out.setdefault("Host", parts.netloc)
    out["X-Sdk-Date"] = (now or datetime.now(UTC)).strftime(DATE_FORMAT)
    lowered = {name.lower(): str(value) for name, value in out.items()}
    signed = tuple(sorted(name for name in lowered if "_" not in name))
    canonical = canonical_request(method, parts.path or "/", parts.query, lowered, signed, body)
    signature = compute_signature(secret_key, string_to_sign(canonical, out["X-Sdk-Date"]))
    out["Authorization"] = (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return out
