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
