"""What the console answers when a session is missing or over, a form's CSRF token is
wrong, or an API call fails where the page did not handle it itself."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openarts.console.api_client import ApiError, SessionExpired
from openarts.console.cookie import Session
from openarts.console.rendering import SECURITY_HEADERS, render, render_page
from openarts.console.session import (
    PREFIX,
    CsrfRefused,
    NotSignedIn,
    clear_session_cookie,
    current_session,
)


class FormError(Exception):
    """A form field the console cannot turn into a request: shown next to the field,
    with what was typed kept (never replaced by a default the user did not choose)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_api_error(self) -> ApiError:
        """For an action answered in the flash area, where no field is next to it."""
        return ApiError(400, "Console.0400", f"{self.field}: {self.message}")


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect(request: Request, url: str) -> Response:
    """A redirect a full page and an htmx request both follow."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def flash(message: str = "", error: ApiError | None = None) -> HTMLResponse:
    """The answer to an htmx action: a line in the page's message area, always swapped
    (htmx leaves a 4xx/5xx answer unswapped, so errors are answered 200 too)."""
    html = render("fragments/flash.html", message=message, error=error)
    headers = {**SECURITY_HEADERS, "HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
    return HTMLResponse(html, headers=headers)


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    return redirect(request, f"{PREFIX}/login")


async def _expired(request: Request, exc: Exception) -> Response:
    # The API refused the token within this request: the cookie is worth nothing now.
    response = redirect(request, f"{PREFIX}/login?expired=1")
    clear_session_cookie(request, response)
    return response


async def _csrf(request: Request, exc: Exception) -> Response:
    refusal = ApiError(
        403,
        "Console.CSRF",
        "The form was refused: its security token is missing or does not match your "
        "session. Reload the page and try again.",
    )
    if is_htmx(request):
        return flash(error=refusal)
    return render_page(
        request, None, "message.html", title="Refused", error=refusal, status_code=403
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if is_htmx(request):
        return flash(error=exc)
    return render_page(
        request,
        signed_in_or_none(request),
        "message.html",
        title="Error",
        error=exc,
        status_code=exc.status if exc.status >= 400 else 502,
    )


def signed_in_or_none(request: Request) -> Session | None:
    try:
        return current_session(request)
    except (NotSignedIn, SessionExpired):
        return None


async def not_found(request: Request) -> Response:
    """Any other path under /console: a page in words, not the API's JSON."""
    missing = ApiError(404, "Console.0404", f"The console has no page at {request.url.path}.")
    if is_htmx(request):
        return flash(error=missing)
    return render_page(
        request,
        signed_in_or_none(request),
        "message.html",
        title="Not found",
        error=missing,
        status_code=404,
    )


async def _form(request: Request, exc: Exception) -> Response:
    # An action form (htmx) with a field that is not what it must be; the create forms
    # show such errors next to the field themselves.
    assert isinstance(exc, FormError)
    if is_htmx(request):
        return flash(error=exc.as_api_error())
    return render_page(
        request,
        signed_in_or_none(request),
        "message.html",
        title="Not sent",
        error=exc.as_api_error(),
        status_code=400,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(SessionExpired, _expired)
    app.add_exception_handler(CsrfRefused, _csrf)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(FormError, _form)
