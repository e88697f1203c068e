"""Jinja2 templates of the console and how a page is answered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from openarts import __version__
from openarts.console.cookie import Session
from openarts.schemas.notebooks import LEASE_MAX_MS

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# No inline script anywhere: a page can only run the console's own files.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages hold the user's data: never kept by the browser or a proxy.
    "Cache-Control": "no-store",
}


def when(ms: Any) -> str:
    """Epoch milliseconds (the API's times) as a UTC time a person reads."""
    if ms in (None, "", 0):
        return "—"
    try:
        moment = datetime.fromtimestamp(int(ms) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        return str(ms)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(ms: Any) -> str:
    if ms in (None, ""):
        return "—"
    try:
        seconds = int(ms) // 1000
    except (TypeError, ValueError):
        return str(ms)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def status_class(status: Any) -> str:
    """A CSS class for a status word (colour only repeats what the word says)."""
    text = str(status or "").lower()
    if any(w in text for w in ("fail", "error", "abnormal", "unavailable", "terminated")):
        return "st-bad"
    if any(w in text for w in ("running", "completed", "published", "active", "succeed")):
        return "st-good"
    if any(w in text for w in ("pend", "queu", "creat", "start", "deploy", "wait", "init")):
        return "st-wait"
    return "st-other"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["duration"] = duration
    env.filters["status_class"] = status_class
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
    # In the static files' URLs: an upgrade is fetched anew, not taken from the cache.
    env.globals["version"] = __version__
    # The lease fields offer what the API accepts, from the API's own bound.
    env.globals["lease_max_hours"] = LEASE_MAX_MS // 3_600_000
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def render_page(
    request: Request,
    session: Session | None,
    template: str,
    *,
    status_code: int = 200,
    projects: list[dict[str, Any]] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = render(
        template,
        request=request,
        session=session,
        csrf=session.csrf if session else "",
        projects=projects or [],
        sandbox_warning=getattr(request.app.state, "sandbox_warning", None),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
