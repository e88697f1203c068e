"""Calls from the console to the platform's own public REST API, in process.

The console has no private way into the platform: every page is built from the same
answers an SDK would get, made with the signed-in user's token. The call goes to the
platform's front (the inference gateway and notebook proxy in front of the API
application) through an ASGI transport, no socket, so it passes the same authentication,
validation and error handling as a call from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.types import ASGIApp

from openarts import errors

# What the in-process client calls itself; only the path matters to the API.
BASE_URL = "http://openarts"
# In-process calls are fast; a page should not hang on one that is not.
TIMEOUT_S = 60.0
# The platform's own answers that say the token itself is no good. Any other 401 (a
# user's model behind the gateway, a wrong password) is an error to show, not a reason
# to end the session.
SESSION_OVER = {errors.TOKEN_EXPIRED, errors.TOKEN_INVALID, errors.NO_AUTH_HEADER}
# "No such resource" in the API's words: by code, since ModelArts answers several of them
# with 400 rather than 404.
NOT_FOUND = {
    errors.NOTEBOOK_NOT_FOUND,
    errors.TRAINING_JOB_NOT_FOUND,
    errors.SERVICE_NOT_FOUND,
    errors.POOL_NOT_FOUND,
    errors.MODEL_NOT_FOUND,
    errors.ALGORITHM_NOT_FOUND,
}
# Segments a URL parser would resolve (RFC 3986 dot segments) instead of sending.
_DOT_SEGMENTS = {"", ".", ".."}


class SessionExpired(Exception):
    """The token is no longer accepted (expired, revoked, unknown): back to sign-in."""


@dataclass
class ApiError(Exception):
    """An answer of the API that is not a success, kept in the API's own words."""

    status: int
    error_code: str
    error_msg: str

    def __str__(self) -> str:
        return f"{self.error_code}: {self.error_msg} (HTTP {self.status})"

    @property
    def gone(self) -> bool:
        """Whether the resource asked for does not exist (any more)."""
        return self.status == 404 or self.error_code in NOT_FOUND


def segment(value: object) -> str:
    """One path segment from a value the user controls (a URL, a form): quoted, so it
    cannot add segments, a query or a ``{placeholder}`` to the API path it goes into."""
    text = str(value)
    if text in _DOT_SEGMENTS:
        # "a/../b" would be resolved before sending: ".." would name the parent resource.
        raise ApiError(404, "Console.0404", f"{text!r} is not the ID of anything.")
    return quote(text, safe="")


def error_of(response: httpx.Response) -> ApiError:
    """The ModelArts error shape (error_code + error_msg), or the IAM one, or the text."""
    code, message = f"HTTP.{response.status_code}", response.text.strip()[:500]
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if "error_code" in body:
            code = str(body.get("error_code"))
            message = str(body.get("error_msg", ""))
        elif isinstance(body.get("error"), dict):
            # IAM answers {"error": {"code": 401, "message": ..., "title": ...}}.
            code = str(body["error"].get("title") or body["error"].get("code") or code)
            message = str(body["error"].get("message", ""))
    return ApiError(response.status_code, code, message or response.reason_phrase)


def ends_session(response: httpx.Response) -> bool:
    """Whether the platform refused the token itself (not only this one call)."""
    return response.status_code == 401 and error_of(response).error_code in SESSION_OVER


def front_of(request: Request) -> ASGIApp:
    """The platform's front, which the console app was created with."""
    front: ASGIApp = request.app.state.front
    return front


def _client(app: ASGIApp, client: tuple[str, int] | None = None) -> httpx.AsyncClient:
    transport = (
        httpx.ASGITransport(app=app, client=client)
        if client is not None
        else httpx.ASGITransport(app=app)
    )
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=TIMEOUT_S)


class ConsoleApi:
    """The API as one user sees it: the token goes in X-Auth-Token on every call, and
    ``{project_id}`` in a path is the session's project.

    One HTTP client serves all the calls of a page or a stream (building one is not
    free); ``aclose()`` (or ``async with``) ends it."""

    def __init__(self, app: ASGIApp, token: str, project_id: str) -> None:
        self.app = app
        self.token = token
        self.project_id = project_id
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> ConsoleApi:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = _client(self.app)
        return self._http

    def path(self, template: str) -> str:
        # Replaced, not str.format()ed: IDs in the path are already quoted, and a "{0}"
        # among them must stay text.
        return template.replace("{project_id}", quote(self.project_id, safe=""))

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The raw answer; SessionExpired when the platform refused the token itself."""
        wanted = {"X-Auth-Token": self.token, **(headers or {})}
        response = await self._client().request(
            method,
            self.path(path),
            json=json,
            params={k: v for k, v in (params or {}).items() if v not in (None, "")},
            headers=wanted,
        )
        if ends_session(response):
            raise SessionExpired(error_of(response).error_msg)
        return response

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The answer's JSON body (None when it has none); ApiError when not a success."""
        response = await self.request(method, path, json=json, params=params)
        if response.status_code >= 400:
            raise error_of(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return await self.call("POST", path, json=body, params=params)

    async def put(self, path: str, body: Any = None) -> Any:
        return await self.call("PUT", path, json=body)

    async def patch(self, path: str, body: Any = None, **params: Any) -> Any:
        return await self.call("PATCH", path, json=body, params=params)

    async def delete(self, path: str, body: Any = None, **params: Any) -> Any:
        return await self.call("DELETE", path, json=body, params=params)


async def anonymous_call(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    client: tuple[str, int] | None = None,
) -> httpx.Response:
    """A call without a session (signing in), made as from ``client`` (the browser's
    address: the API slows password guessing per address)."""
    async with _client(app, client) as http:
        return await http.request(method, path, json=json, headers=headers or {})
