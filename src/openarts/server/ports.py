"""The listening sockets' one application: requests are routed by the port they came in
on (the API's, object storage's, the console's), and the relays that stand in front of
the API app (the notebook proxy and the inference gateway)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from openarts.gateway.inference import GatewayParts, InferenceGateway
from openarts.gateway.notebook_proxy import NotebookProxy

CONSOLE_PREFIX = "/console"


class PortRouter:
    """One ASGI application for the listening sockets: requests on the object-storage port
    go to the S3 endpoint; the console's port serves the console alone (its own origin:
    the notebook proxy on the API's origin runs users' JavaScript, which must not read
    console pages); everything else (lifespan too) goes to the API, where the console's
    paths are sent on to the console's origin."""

    def __init__(
        self, api: ASGIApp, obs: ASGIApp, console: ASGIApp, *, obs_port: int, console_port: int
    ) -> None:
        self.api = api
        self.obs = obs
        self.console = console
        self.obs_port = obs_port
        self.console_port = console_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.api(scope, receive, send)
            return
        server = scope.get("server")
        port = server[1] if server else None
        in_console = _is_console_path(scope["path"])
        if scope["type"] == "http" and port == self.obs_port:
            await self.obs(scope, receive, send)
        elif port == self.console_port:
            if in_console:
                await self.console(scope, receive, send)
            else:
                await _answer(scope, receive, send, _console_only(scope))
        elif in_console:
            await _answer(scope, receive, send, self._to_console(scope))
        else:
            await self.api(scope, receive, send)

    def _to_console(self, scope: Scope) -> Response:
        host = Headers(scope=scope).get("host", "127.0.0.1")
        # The same host name the client used, on the console's port.
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        query = scope.get("query_string", b"").decode("latin-1")
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        target = f"{scheme}://{name}:{self.console_port}{scope['path']}"
        return RedirectResponse(target + (f"?{query}" if query else ""), status_code=307)


def _is_console_path(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _console_only(scope: Scope) -> Response:
    if scope["path"] == "/":
        return RedirectResponse(CONSOLE_PREFIX + "/", status_code=307)
    return PlainTextResponse(
        "Not found: this port serves the web console only, under /console/.", status_code=404
    )


async def _answer(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await response(scope, receive, send)


class Relays:
    """The notebook proxy and the inference gateway, in front of the API app itself (not
    among its middleware): relayed calls skip every layer of the API (error pages, body
    caps, request IDs) and stream untouched; the rest passes through to the API. This is
    the platform's one gateway: the console calls the API through it too."""

    def __init__(
        self,
        api: FastAPI,
        *,
        gateway: GatewayParts,
        jupyter_address: Callable[[str], Awaitable[str]],
    ) -> None:
        self.proxy = NotebookProxy(api, resolve=jupyter_address)
        self.gateway = InferenceGateway(self.proxy, gateway)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.gateway(scope, receive, send)

    async def close(self) -> None:
        await self.gateway.close()
        await self.proxy.close()
