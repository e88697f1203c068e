"""A small S3 client over the standard library (a task's engine may have no boto3): the
few calls ``mox.file`` needs, signed with AWS Signature Version 4, path-style."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
UNSIGNED = "UNSIGNED-PAYLOAD"


class StoreError(OSError):
    """A call the store refused or could not answer."""


@dataclass(frozen=True)
class Listing:
    keys: list[tuple[str, int, str]]  # (key, size, last modified)
    prefixes: list[str]


class Store:
    def __init__(self) -> None:
        env = os.environ
        endpoint = env.get("AWS_ENDPOINT_URL") or env.get("S3_ENDPOINT") or ""
        if not endpoint:
            raise StoreError(
                "no object-storage endpoint in this task's variables (S3_ENDPOINT or "
                "AWS_ENDPOINT_URL): obs:// paths cannot be reached from here"
            )
        if "://" not in endpoint:
            https = env.get("S3_USE_HTTPS", "1") not in ("0", "false", "False")
            endpoint = f"{'https' if https else 'http'}://{endpoint}"
        parts = urlsplit(endpoint)
        self.https = parts.scheme == "https"
        self.host = parts.netloc
        self.access_key = env.get("AWS_ACCESS_KEY_ID") or env.get("OBS_ACCESS_KEY_ID") or ""
        self.secret_key = env.get("AWS_SECRET_ACCESS_KEY") or env.get("OBS_SECRET_ACCESS_KEY") or ""
        if not self.access_key or not self.secret_key:
            raise StoreError(
                "no storage credential in this task's variables (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY): obs:// paths cannot be reached from here"
            )
        self.region = env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1"

    # -- the calls ---------------------------------------------------------------------------
    def get(self, bucket: str, key: str) -> bytes:
        status, _, body = self._call("GET", bucket, key)
        self._check(status, body, f"obs://{bucket}/{key}")
        return body

    def put(self, bucket: str, key: str, data: bytes) -> None:
        status, _, body = self._call("PUT", bucket, key, body=data)
        self._check(status, body, f"obs://{bucket}/{key}")

    def head(self, bucket: str, key: str) -> tuple[int, str] | None:
        """(size, last modified) of an object, None where there is none."""
        status, headers, body = self._call("HEAD", bucket, key)
        if status == 404:
            return None
        self._check(status, body, f"obs://{bucket}/{key}")
        return int(headers.get("content-length", "0")), headers.get("last-modified", "")

    def delete(self, bucket: str, key: str) -> None:
        status, _, body = self._call("DELETE", bucket, key)
        if status != 404:
            self._check(status, body, f"obs://{bucket}/{key}")

    def copy(self, bucket: str, key: str, to_bucket: str, to_key: str) -> None:
        source = quote(f"/{bucket}/{key}", safe="/~")
        status, _, body = self._call(
            "PUT", to_bucket, to_key, headers={"x-amz-copy-source": source}
        )
        self._check(status, body, f"obs://{to_bucket}/{to_key}")

    def list(self, bucket: str, prefix: str, delimiter: str = "") -> Listing:
        keys: list[tuple[str, int, str]] = []
        prefixes: list[str] = []
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if delimiter:
                query["delimiter"] = delimiter
            if token:
                query["continuation-token"] = token
            status, _, body = self._call("GET", bucket, "", query=query)
            self._check(status, body, f"obs://{bucket}/{prefix}")
            root = ElementTree.fromstring(body)
            for item in root.iter(f"{_NS}Contents"):
                keys.append(
                    (
                        item.findtext(f"{_NS}Key") or "",
                        int(item.findtext(f"{_NS}Size") or 0),
                        item.findtext(f"{_NS}LastModified") or "",
                    )
                )
            for item in root.iter(f"{_NS}CommonPrefixes"):
                prefixes.append(item.findtext(f"{_NS}Prefix") or "")
            token = root.findtext(f"{_NS}NextContinuationToken") or ""
            if root.findtext(f"{_NS}IsTruncated") != "true" or not token:
                return Listing(keys, prefixes)

    # -- signing and sending ---------------------------------------------------------------
    def _call(
        self,
        method: str,
        bucket: str,
        key: str,
        *,
        query: dict[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        path = quote(f"/{bucket}/{key}" if key else f"/{bucket}", safe="/~")
        canonical_query = "&".join(
            f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted((query or {}).items())
        )
        now = datetime.datetime.now(datetime.UTC)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest() if body else UNSIGNED
        sent = {
            "host": self.host,
            "x-amz-date": stamp,
            "x-amz-content-sha256": payload,
            **{k.lower(): v for k, v in (headers or {}).items()},
        }
        names = sorted(sent)
        canonical = "\n".join(
            (
                method,
                path,
                canonical_query,
                "".join(f"{n}:{' '.join(sent[n].split())}\n" for n in names),
                ";".join(names),
                payload,
            )
        )
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ("AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest())
        )
        signing = f"AWS4{self.secret_key}".encode()
        for part in (day, self.region, "s3", "aws4_request"):
            signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
        sent["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        connection_class = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        connection = connection_class(self.host, timeout=120)
        try:
            target = f"{path}?{canonical_query}" if canonical_query else path
            connection.request(method, target, body=body or None, headers=sent)
            response = connection.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except OSError as error:
            raise StoreError(
                f"the object store at {self.host} could not be reached: {error}"
            ) from None
        finally:
            connection.close()

    @staticmethod
    def _check(status: int, body: bytes, what: str) -> None:
        if status < 300:
            return
        code = message = ""
        try:
            root = ElementTree.fromstring(body)
            code, message = root.findtext("Code") or "", root.findtext("Message") or ""
        except ElementTree.ParseError:
            message = body[:200].decode("utf-8", "replace")
        if status == 404:
            raise FileNotFoundError(f"{what}: {code or 'not found'} {message}".strip())
        if status == 403:
            raise PermissionError(f"{what}: {code or 'access denied'} {message}".strip())
        raise StoreError(f"{what}: {status} {code} {message}".strip())
