"""Signing in and out, the session cookie and CSRF (switching projects: pages/account.py).

The session is the IAM-compatible token itself, with what the pages need beside it
(project, user, expiry), in one HttpOnly cookie limited to /console with SameSite=Strict
(Secure when the request came over https): the browser's JavaScript never sees the token,
and other sites cannot send it. Forms that change something also carry a CSRF token
derived from the session's token, checked on every POST, and a POST another origin's
page sent (Sec-Fetch-Site / Origin) is refused, sign-in included.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from openarts.console.api_client import (
    ApiError,
    ConsoleApi,
    SessionExpired,
    anonymous_call,
    error_of,
    front_of,
)
from openarts.console.cookie import COOKIE, Session
from openarts.console.rendering import render_page

PREFIX = "/console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
# Form bodies are small; a larger one is not a console form.
MAX_FORM_BYTES = 256 * 1024
# What a browser says of a request a page of the console's own origin sent ("none": the
# user typed or bookmarked it).
OWN_FETCH_SITES = {"same-origin", "none"}

router = APIRouter(prefix=PREFIX, include_in_schema=False)


class NotSignedIn(Exception):
    """No session cookie: the page asks to sign in first."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: refused, nothing changed."""


def current_session(request: Request) -> Session:
    """The signed-in session; NotSignedIn or SessionExpired otherwise."""
    text = request.cookies.get(COOKIE)
    if not text:
        raise NotSignedIn
    session = Session.decode(text)
    if session is None:
        raise NotSignedIn
    if session.expires_ms <= time.time() * 1000:
        raise SessionExpired("the token has expired")
    return session


SessionDep = Annotated[Session, Depends(current_session)]


def api_for(request: Request, session: Session) -> ConsoleApi:
    """The public API as the session's user, called in process."""
    return ConsoleApi(front_of(request), session.token, session.project_id)


async def console_api(request: Request, session: SessionDep) -> AsyncIterator[ConsoleApi]:
    """The session's API client for one request, closed when the request is done."""
    api = api_for(request, session)
    try:
        yield api
    finally:
        await api.aclose()


ApiDep = Annotated[ConsoleApi, Depends(console_api)]


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the console's forms send nothing else).
    A name given twice keeps its values joined by newlines."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise CsrfRefused
    form: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form[name] = f"{form[name]}\n{value}" if name in form else value
    return form


async def checked_form(request: Request, session: Session) -> dict[str, str]:
    """The form of a POST that changes something, once its CSRF token is checked (and,
    where the browser says so, that the console's own origin sent it)."""
    if from_elsewhere(request):
        raise CsrfRefused
    form = await read_form(request)
    sent = form.pop(CSRF_FIELD, "") or request.headers.get(CSRF_HEADER, "")
    # As bytes: compare_digest refuses non-ASCII text with a TypeError (a 500).
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRefused
    return form


def from_elsewhere(request: Request) -> bool:
    """Whether the browser says another origin's page sent this request. Sec-Fetch-Site
    is what current browsers send and a page cannot forge; Origin covers older ones (its
    host compared with the Host the request came to, so a TLS proxy in front changes
    nothing)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in OWN_FETCH_SITES
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc != request.headers.get("host", "")


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    max_age = max(0, int(session.expires_ms / 1000 - time.time()))
    response.set_cookie(
        COOKIE,
        session.encode(),
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        # Plain HTTP on loopback needs it off; a request that came over TLS keeps the
        # cookie from ever travelling in clear.
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _expires_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def session_from(answer_token: str, body: dict[str, Any]) -> Session:
    token = body["token"]
    return Session(
        token=answer_token,
        project_id=token["project"]["id"],
        project_name=token["project"].get("name", ""),
        user_name=token["user"].get("name", ""),
        expires_ms=_expires_ms(token["expires_at"]),
    )


@router.get("/login")
async def login_page(request: Request, expired: str = "", signed_out: str = "") -> Response:
    # Only a notice: a GET changes nothing (the cookie goes on sign-out, or where the API
    # refused the token), so a link from elsewhere cannot sign anyone out.
    notice = ""
    if expired:
        notice = "Your session has expired. Please sign in again."
    elif signed_out:
        notice = "You have signed out."
    return render_page(
        request,
        None,
        "login.html",
        notice=notice,
        form={"project": "default"},
        password_file=password_file(request),
    )


def password_file(request: Request) -> str:
    """Where the first start wrote the admin password, as the server's settings have it
    (create_console's admin_password_file); "" when the console was not told."""
    known = getattr(request.app.state, "admin_password_file", None)
    return str(known) if known else ""


def _refused_sign_in(request: Request) -> Response:
    refusal = ApiError(
        403,
        "Console.CSRF",
        "The sign-in was refused: the form was sent from another site, not from this "
        "console's own sign-in page. Open the console's sign-in page and sign in there.",
    )
    return render_page(
        request, None, "message.html", title="Refused", error=refusal, status_code=403
    )


@router.post("/login")
async def login(request: Request) -> Response:
    if from_elsewhere(request):
        # Login CSRF: another site must not sign the browser in to an account it chose.
        return _refused_sign_in(request)
    form = await read_form(request)
    user, project = form.get("user", "").strip(), form.get("project", "").strip() or "default"
    identity: dict[str, Any] = {"name": user, "password": form.get("password", "")}
    if form.get("domain", "").strip():
        identity["domain"] = {"name": form["domain"].strip()}
    body = {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": identity}},
            "scope": {"project": {"name": project}},
        }
    }
    browser = (request.client.host, request.client.port) if request.client else None
    answer = await anonymous_call(
        front_of(request), "POST", "/v3/auth/tokens", json=body, client=browser
    )
    if answer.status_code != 201:
        shown = {"user": user, "project": project, "domain": form.get("domain", "")}
        return render_page(
            request,
            None,
            "login.html",
            error=error_of(answer),
            form=shown,
            status_code=401,
            password_file=password_file(request),
        )
    session = session_from(answer.headers["X-Subject-Token"], answer.json())
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    set_session_cookie(request, response, session)
    return response


async def revoke(request: Request, token: str) -> None:
    """Revoked, not only forgotten: a copy of the cookie is worth nothing afterwards."""
    await anonymous_call(
        front_of(request),
        "DELETE",
        "/v3/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
    )


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    await checked_form(request, session)
    await revoke(request, session.token)
    response = RedirectResponse(f"{PREFIX}/login?signed_out=1", status_code=303)
    clear_session_cookie(request, response)
    return response


async def projects_of(api: ConsoleApi) -> list[dict[str, Any]]:
    """The projects the user may switch to (for the layout's switcher); SessionExpired
    when the token itself is refused."""
    answer = await api.request("GET", "/v3/auth/projects")
    if answer.status_code != 200:
        return []
    projects: list[dict[str, Any]] = answer.json().get("projects", [])
    return projects
