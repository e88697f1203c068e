"""Every error leaves the API as {"error_code", "error_msg"} with the code's HTTP status."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openarts import errors
from openarts.db.engine import is_lock_timeout
from openarts.errors import OpenArtsError

log = logging.getLogger("openarts.api")

REQUEST_ID_HEADER = "X-Request-Id"


def error_response(error: OpenArtsError) -> JSONResponse:
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers)


def _field_path(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part != "body" or len(location) == 1]
    return ".".join(parts) if parts else "body"


def validation_error(exc: RequestValidationError) -> OpenArtsError:
    problems = exc.errors()
    first = problems[0] if problems else {"loc": ("body",), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        return OpenArtsError(errors.INVALID_JSON, "Invalid JSON request body.")
    descriptions = []
    for problem in problems[:5]:
        location = tuple(problem.get("loc", ()))
        where = location[0] if location else "body"
        field = _field_path(
            location[1:] if where in {"body", "query", "path", "header"} else location
        )
        if where == "body" and problem.get("type") == "missing" and len(location) == 1:
            descriptions.append("the request body is missing")
            continue
        descriptions.append(f"{where} parameter {field or where}: {problem.get('msg')}")
    return OpenArtsError(errors.INVALID_ARGUMENT, "Invalid parameter: " + "; ".join(descriptions))


async def _on_openarts_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenArtsError)
    return error_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_error(exc))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        error = OpenArtsError(
            errors.PATH_NOT_FOUND, f"Path not found: {request.method} {request.url.path}"
        )
    elif exc.status_code == 405:
        error = OpenArtsError(
            errors.METHOD_NOT_ALLOWED,
            f"Method not allowed: {request.method} {request.url.path}",
        )
    elif exc.status_code == 400:
        error = OpenArtsError(errors.INVALID_ARGUMENT, f"Invalid parameter: {exc.detail}")
    else:
        log.error("unexpected HTTP exception %s: %s", exc.status_code, exc.detail)
        error = OpenArtsError(errors.INTERNAL_ERROR, f"Internal error: {exc.detail}")
    return error_response(error)


# A client told the system is busy tries again after this many seconds.
BUSY_RETRY_AFTER_S = 1


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    if not is_lock_timeout(exc):
        raise exc  # a fault: the request middleware answers 500 and logs it
    # SQLite takes one write at a time: under more writes than it can take, a request
    # that waited its turn too long is refused as busy (nothing of it was written), and
    # the client may try again.
    error = OpenArtsError(
        errors.SYSTEM_BUSY,
        "The system is busy now: the database took other writes for longer than this "
        "request could wait. Nothing was changed; please try again later.",
        retry_after_s=BUSY_RETRY_AFTER_S,
    )
    return error_response(error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OpenArtsError, _on_openarts_error)
    app.add_exception_handler(OperationalError, _on_database_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


class _BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    """Tags every request with an ID, caps body size, and turns crashes into a clean 500.

    A plain ASGI middleware, not BaseHTTPMiddleware, so it adds almost nothing per request.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
        started = False
        overflowed = False
        too_large = OpenArtsError(
            errors.BODY_TOO_LARGE,
            "Invalid request body because the size exceeds the maximum size allowed "
            f"({self.max_body_bytes} bytes).",
        )

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if overflowed:
                # Whatever the app made of a truncated body, the answer is 413.
                if not started:
                    started = True
                    await self._send_error(send_with_id_raw, too_large)
                return
            await send_with_id_raw(message)

        async def send_with_id_raw(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        if self._declared_too_large(scope):
            await self._send_error(send_with_id_raw, too_large)
            return
        received = 0

        async def receive_capped() -> Message:
            # A chunked body declares no length, so the cap is also counted as it arrives.
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    overflowed = True
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, receive_capped, send_with_id)
        except _BodyTooLarge:
            if not started:
                await self._send_error(send_with_id_raw, too_large)
        except Exception:
            log.exception("request %s failed: %s %s", request_id, scope["method"], scope["path"])
            if started:
                raise
            await self._send_error(
                send_with_id,
                OpenArtsError(errors.INTERNAL_ERROR, f"Internal error. Request ID: {request_id}."),
            )

    def _declared_too_large(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value) > self.max_body_bytes
                except ValueError:
                    return False
        return False

    @staticmethod
    async def _send_error(send: Send, error: OpenArtsError) -> None:
        body = json.dumps(error.body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
