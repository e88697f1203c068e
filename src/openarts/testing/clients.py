"""Clients that sign requests the way the SDKs do, for tests and benchmarks."""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from typing import Any

import httpx

from openarts.security.signing import sign


@dataclass(frozen=True, slots=True)
class AkSk:
    access_key: str
    secret_key: str


async def signed_request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    keys: AkSk,
    *,
    json: Any = None,
    content: bytes | None = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send a request signed with SDK-HMAC-SHA256."""
    body = content if content is not None else b""
    extra = dict(headers or {})
    if json is not None:
        body = jsonlib.dumps(json).encode()
        extra.setdefault("Content-Type", "application/json")
    url = client.build_request(method, path, params=params).url
    signed = sign(
        method=method,
        url=str(url),
        access_key=keys.access_key,
        secret_key=keys.secret_key,
        headers=extra,
        body=body,
    )
    return await client.request(method, url, content=body, headers=signed)


class SignedClient:
    """Blocking signed requests to a server (the platform's signer, the SDK's scheme) over
    one connection: for benchmarks and tests that are not async."""

    def __init__(self, endpoint: str, project_id: str, keys: AkSk) -> None:
        self.endpoint = endpoint
        self.project_id = project_id
        self.keys = keys
        self.client = httpx.Client(timeout=30)

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """``path`` may hold ``{project_id}`` and a query string."""
        url = self.endpoint + path.format(project_id=self.project_id)
        content = b"" if body is None else jsonlib.dumps(body).encode()
        headers = sign(
            method=method,
            url=url,
            access_key=self.keys.access_key,
            secret_key=self.keys.secret_key,
            headers={"Content-Type": "application/json"},
            body=content,
        )
        return self.client.request(method, url, content=content, headers=headers)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        """The answer's JSON; anything but ``expect`` raises with the answer."""
        response = self.request(method, path, body)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()
