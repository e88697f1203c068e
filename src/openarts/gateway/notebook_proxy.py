"""The notebook proxy: ``/notebook/{id}/...`` on the platform's port, to the instance's
Jupyter on the loopback of its node, HTTP and WebSockets alike.

A plain ASGI wrapper in front of the API, so a proxied request costs no routing,
dependency injection or validation. Bodies stream both ways (large uploads and downloads
pass chunk by chunk; nothing is decompressed); WebSocket frames are relayed as they come.
Jupyter itself checks the instance's token (``?token=``, ``Authorization: token …`` or
the cookie it sets after either), so only the instance's owner gets in; Host and Origin
pass unchanged, so Jupyter's own origin checks see what the browser sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openarts import errors
from openarts.domain.addresses import authority_of, socket_of
from openarts.domain.notebooks import PROXY_PREFIX
from openarts.errors import OpenArtsError
from openarts.gateway.relay import (
    HOP_BY_HOP,
    client_session,
    forwarded_headers,
    pass_lifespan,
    refuse,
    request_body,
)
from openarts.lazy import lazy_import
from openarts.unix_sockets import SocketPath

if TYPE_CHECKING:
    import aiohttp
else:
    aiohttp = lazy_import("aiohttp")

log = logging.getLogger("openarts.gateway")

# An instance's address is trusted this long before it is looked up again, so a stopped
# instance stops being reachable within it.
ADDRESS_TTL_S = 1.0
_PREFIX = PROXY_PREFIX.encode()

# Where an instance's Jupyter listens ("127.0.0.1:port"); raises OpenArtsError when it
# cannot be reached (unknown, not running).
Resolve = Callable[[str], Awaitable[str]]


class NotebookProxy:
    def __init__(self, app: ASGIApp, resolve: Resolve) -> None:
        self.app = app
        self.resolve = resolve
        self._addresses: dict[str, tuple[str, float]] = {}
        self._client: aiohttp.ClientSession | None = None
        # Instances in sandboxes listen on Unix sockets: a session (connector) per socket.
        self._unix: dict[str, tuple[aiohttp.ClientSession, SocketPath]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        path: str = scope.get("path", "")
        if kind not in ("http", "websocket") or not path.startswith(PROXY_PREFIX):
            if kind == "lifespan":
                await pass_lifespan(self.app, scope, receive, send, self.close)
                return
            await self.app(scope, receive, send)
            return
        notebook_id = path[len(PROXY_PREFIX) :].split("/", 1)[0]
        try:
            address = await self._address(notebook_id)
        except OpenArtsError as error:
            await refuse(scope, receive, send, error)
            return
        if kind == "http":
            await self._http(scope, receive, send, address, notebook_id)
        else:
            await self._websocket(scope, receive, send, address, notebook_id)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        for session, path in self._unix.values():
            await session.close()
            path.close()
        self._unix.clear()

    def forget(self, notebook_id: str) -> None:
        gone = self._addresses.pop(notebook_id, None)
        path = socket_of(gone[0]) if gone is not None else None
        if path is not None and path in self._unix:
            # A socket's session is let go with the address (the instance may come back
            # with another one); closed in the background, never in a request's way.
            session, handle = self._unix.pop(path)
            task = asyncio.create_task(session.close())
            task.add_done_callback(lambda _: handle.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _address(self, notebook_id: str) -> str:
        cached = self._addresses.get(notebook_id)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        address = await self.resolve(notebook_id)
        self._addresses[notebook_id] = (address, now + ADDRESS_TTL_S)
        return address

    def _session(self, address: str) -> aiohttp.ClientSession:
        path = socket_of(address)
        if path is not None:
            known = self._unix.get(path)
            if known is not None and not known[0].closed:
                return known[0]
            if known is not None:
                known[1].close()
            # Raises OSError when the socket's folder is gone: the instance is unreachable.
            handle = SocketPath(path)
            session = client_session(aiohttp.UnixConnector(path=handle.path))
            self._unix[path] = (session, handle)
            return session
        if self._client is None or self._client.closed:
            self._client = client_session()
        return self._client

    # -- HTTP ------------------------------------------------------------------------------
    async def _http(
        self, scope: Scope, receive: Receive, send: Send, address: str, notebook_id: str
    ) -> None:
        url = _target(scope, address, "http")
        headers = forwarded_headers(scope)
        has_body = any(
            k == b"content-length" or k == b"transfer-encoding" for k, _ in scope["headers"]
        )
        body = request_body(receive) if has_body else None
        started = False
        try:
            async with self._session(address).request(
                scope["method"],
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                compress=None,
            ) as upstream:
                response_headers = [
                    (k.lower(), v) for k, v in upstream.raw_headers if k.lower() not in HOP_BY_HOP
                ]
                await send(
                    {
                        "type": "http.response.start",
                        "status": upstream.status,
                        "headers": response_headers,
                    }
                )
                started = True
                async for chunk in upstream.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (aiohttp.ClientConnectionError, TimeoutError, OSError) as error:
            self.forget(notebook_id)
            log.info("notebook %s is unreachable at %s: %s", notebook_id, address, error)
            if started:
                # Cut off mid-answer: end it; the client sees a short body, not a new one.
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await refuse(scope, receive, send, _unreachable(notebook_id))

    # -- WebSockets ------------------------------------------------------------------------
    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, address: str, notebook_id: str
    ) -> None:
        url = _target(scope, address, "ws")
        headers = [
            (k, v)
            for k, v in forwarded_headers(scope)
            if k.lower()
            not in (
                "sec-websocket-key",
                "sec-websocket-version",
                "sec-websocket-extensions",
                "sec-websocket-protocol",
            )
        ]
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        try:
            upstream = await self._session(address).ws_connect(
                url,
                headers=headers,
                protocols=tuple(scope.get("subprotocols") or ()),
                autoping=True,
                max_msg_size=0,
                compress=0,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            self.forget(notebook_id)
            status = error.status if isinstance(error, aiohttp.WSServerHandshakeError) else 1011
            log.info("websocket to notebook %s refused: %s", notebook_id, error)
            # Before accepting, a close is the client's 403; the reason is in the log.
            await send({"type": "websocket.close", "code": 1008 if status in (401, 403) else 1011})
            return
        accept: Message = {"type": "websocket.accept"}
        if upstream.protocol:
            accept["subprotocol"] = upstream.protocol
        await send(accept)

        async def client_to_upstream() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    await upstream.close(code=message.get("code", 1000))
                    return
                if message.get("bytes") is not None:
                    await upstream.send_bytes(message["bytes"])
                elif message.get("text") is not None:
                    await upstream.send_str(message["text"])

        async def upstream_to_client() -> None:
            async for message in upstream:
                if message.type == aiohttp.WSMsgType.TEXT:
                    await send({"type": "websocket.send", "text": message.data})
                elif message.type == aiohttp.WSMsgType.BINARY:
                    await send({"type": "websocket.send", "bytes": message.data})
                else:
                    break
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": upstream.close_code or 1000})

        pumps = [
            asyncio.create_task(client_to_upstream()),
            asyncio.create_task(upstream_to_client()),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            await upstream.close()


def _target(scope: Scope, address: str, scheme: str) -> str:
    raw = scope.get("raw_path") or scope["path"].encode()
    path = raw.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{authority_of(address)}{path}" + (f"?{query}" if query else "")


def _unreachable(notebook_id: str) -> OpenArtsError:
    return OpenArtsError(
        errors.NOTEBOOK_NOT_RUNNING,
        f"The instance is not in running: Jupyter of instance {notebook_id} does not answer "
        "(still starting, or stopped). Refresh and try again.",
    )
