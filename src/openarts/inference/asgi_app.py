"""The raw ASGI application: health, routing, body reading and the response.

No framework: each request is a dictionary lookup for its route, the body chunks, one
call to the dispatcher and two ``send`` calls. Constant responses (health, 404, 405) are
built once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from openarts.inference.errors import NO_ROUTE, WRONG_METHOD, Response, error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Runner = Callable[[bytes | None, bytes, bytes], Awaitable[Response]]

HEALTH_PATH = "/health"
_JSON = (b"content-type", b"application/json")


def _start(status: int, body: bytes) -> Message:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [_JSON, (b"content-length", b"%d" % len(body))],
    }


def _body(body: bytes) -> Message:
    return {"type": "http.response.body", "body": body}


class InferenceApp:
    def __init__(self, routes: Iterable[tuple[str, str]], run: Runner) -> None:
        self._run = run
        self._methods: dict[str, frozenset[str]] = {}
        for method, path in routes:
            self._methods[path] = self._methods.get(path, frozenset()) | {method}
        health = b'{"status": "OK"}'
        self._health = (_start(200, health), _body(health))
        self._not_found = error_response(404, NO_ROUTE, "no route at this path")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            await send(self._health[0])
            await send(self._health[1])
            return
        methods = self._methods.get(path)
        if methods is None and len(path) > 1 and path.endswith("/"):
            methods = self._methods.get(path.rstrip("/"))
        if methods is None:
            await self._respond(send, self._not_found)
            return
        if method not in methods:
            allowed = ", ".join(sorted(methods))
            await self._respond(
                send, error_response(405, WRONG_METHOD, f"{path} takes {allowed}, not {method}")
            )
            return
        body = await _read_body(receive)
        if body is None:
            return
        content_type = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
                break
        await self._respond(send, await self._run(content_type, body, scope["query_string"]))

    @staticmethod
    async def _respond(send: Send, response: Response) -> None:
        status, body = response
        await send(_start(status, body))
        await send(_body(body))


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None when the client went away first."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = bytearray(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(chunks)
