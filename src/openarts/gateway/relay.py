"""What the platform's two relays share (the notebook proxy and the inference gateway):
which headers stay on their hop, what is forwarded, the request body as a stream, and an
error answered in the ModelArts shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openarts.errors import OpenArtsError
from openarts.lazy import lazy_import

if TYPE_CHECKING:
    import aiohttp
else:
    aiohttp = lazy_import("aiohttp")

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)


def forwarded_headers(scope: Scope) -> list[tuple[str, str]]:
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in scope["headers"]
        if k.lower() not in HOP_BY_HOP
    ]
    client = scope.get("client")
    if client:
        headers.append(("X-Forwarded-For", str(client[0])))
    return headers


async def request_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def refuse(
    scope: Scope, receive: Receive, send: Send, error: OpenArtsError, *, status: int = 0
) -> None:
    """Answer ``error``; with the status of its code, unless the relay's own transport
    failure calls for another (503 when no replica answers, 504 on a timeout)."""
    if scope["type"] == "websocket":
        await receive()  # the connect
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps(error.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status or error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def client_session(connector: aiohttp.BaseConnector | None = None) -> aiohttp.ClientSession:
    """A relay's client: pooled keep-alive connections without limit (over TCP, or the
    ``connector`` given: a Unix socket's), bodies passed as they are (never
    decompressed), no cookies kept, no headers added."""
    return aiohttp.ClientSession(
        connector=connector or aiohttp.TCPConnector(limit=0, ttl_dns_cache=None),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
    )


async def pass_lifespan(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, close: Callable[[], Awaitable[None]]
) -> None:
    """Run the app's lifespan; ``close`` the relay's client when the server shuts down."""

    async def on_shutdown(message: Message) -> None:
        if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            await close()
        await send(message)

    await app(scope, receive, on_shutdown)
