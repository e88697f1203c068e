"""Presigned GET URLs that the platform itself issues for the embedded endpoint.

They carry no user's key: the server signs ``GET``, the object's path and an expiry time
with a key derived from the home's secret, and the endpoint accepts such a URL for exactly
that object until it expires. Work that outlives a user's request (log links, model
downloads) can hand them out without holding anyone's secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

EXPIRES_PARAM = "X-OpenArts-Expires"
SIGNATURE_PARAM = "X-OpenArts-Signature"
MAX_EXPIRES_S = 7 * 24 * 3600


class PlatformPresigner:
    def __init__(self, key: bytes, endpoint: str) -> None:
        self._key = key
        self.endpoint = endpoint.rstrip("/")

    def _signature(self, method: str, bucket: str, key: str, expires: int) -> str:
        message = f"{method}\n/{bucket}/{key}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, bucket: str, key: str, expires_s: int, *, now: float | None = None) -> str:
        if not 1 <= expires_s <= MAX_EXPIRES_S:
            raise ValueError(f"expires_s must be between 1 and {MAX_EXPIRES_S}")
        expires = int((now if now is not None else time.time()) + expires_s)
        signature = self._signature("GET", bucket, key, expires)
        path = quote(f"/{bucket}/{key}", safe="/~")
        return f"{self.endpoint}{path}?{EXPIRES_PARAM}={expires}&{SIGNATURE_PARAM}={signature}"

    def check(self, method: str, bucket: str, key: str, expires: str, signature: str) -> str | None:
        """None when the URL is good, else why not."""
        if method not in ("GET", "HEAD"):
            return "a presigned URL allows GET only"
        if not (expires.isascii() and expires.isdigit()):
            return "the expiry is not a time"
        if int(expires) < time.time():
            return "Request has expired"
        expected = self._signature("GET", bucket, key, int(expires))
        if not hmac.compare_digest(expected, signature):
            return "The request signature we calculated does not match the signature you provided."
        return None
