"""Jinja2 templates of the console and how a page is answered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from markupsafe import Markup

from openarts import __version__
from openarts.console import states, units
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


def moment(value: Any) -> datetime | None:
    """A time of the API's as a UTC datetime: epoch milliseconds (most answers), or ISO
    8601 text (the pools' and events' APIs); None for no time (missing, 0, unreadable)."""
    if value in (None, "", 0, "0") or isinstance(value, Undefined):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        try:
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative(at: datetime, now: datetime) -> str:
    """Words such as "3 min ago" or "in 2 h": how a person reads a time at a glance.
    Under a minute is "just now", so a live part's text changes once a minute at most.
    static/console.js keeps the same words up to date in the browser (relativeText
    there: keep both alike)."""
    seconds = (now - at).total_seconds()
    ahead, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        return "in under a minute" if ahead else "just now"
    for size, unit in ((86_400, "days"), (3600, "h"), (60, "min")):
        if seconds >= size:
            count = int(seconds // size)
            if unit == "days" and count > 60:
                # Long ago (or far ahead): the date says more than a count of days.
                return at.astimezone(UTC).strftime("%Y-%m-%d")
            word = "day" if unit == "days" and count == 1 else unit
            return f"in {count} {word}" if ahead else f"{count} {word} ago"
    raise AssertionError(seconds)  # pragma: no cover (60 s and more matched above)


def when(value: Any, now: datetime | None = None) -> Markup:
    """A time as every page shows it: relative words, the exact UTC time on hover (the
    title) and in the datetime attribute; data-ts lets the browser keep the words fresh."""
    at = moment(value)
    if at is None:
        missing = value in (None, "", 0, "0") or isinstance(value, Undefined)
        return Markup("—") if missing else Markup.escape(str(value))
    words = relative(at, now or datetime.now(UTC))
    stamp = int(at.timestamp() * 1000)
    return Markup('<time datetime="{}" title="{}" data-ts="{}">{}</time>').format(
        at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), utc_text(at), stamp, words
    )


def duration(ms: Any) -> str:
    """How long, in the units a person would say: "2 s", "2 min 36 s", "1 h 05 min"."""
    # A field the answer lacks (jinja2's Undefined) is no time either.
    if ms in (None, "") or isinstance(ms, Undefined):
        return "—"
    try:
        seconds = int(ms) // 1000
    except (TypeError, ValueError):
        return str(ms)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def as_json(text: Any) -> str:
    """A message that is JSON (a body relayed as it came, an error in a model's own
    shape), indented for reading; "" for any other text, which is shown as it is."""
    value = str(text or "").strip()
    if not value or value[0] not in "{[":
        return ""
    try:
        parsed = json.loads(value)
    except ValueError:
        return ""
    return json.dumps(parsed, indent=2, ensure_ascii=False)


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
    env.filters["resources"] = units.resources
    env.filters["as_json"] = as_json
    env.filters["duration"] = duration
    env.filters["status_class"] = status_class
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
    # In the static files' URLs: an upgrade is fetched anew, not taken from the cache.
    env.globals["version"] = __version__
    # The lease fields offer what the API accepts, from the API's own bound.
    env.globals["lease_max_hours"] = LEASE_MAX_MS // 3_600_000
    # Which buttons a status enables, by the API's own rules (states.py).
    env.globals["job_actions"] = states.job_actions
    env.globals["notebook_actions"] = states.notebook_actions
    env.globals["service_actions"] = states.service_actions
    env.globals["model_actions"] = states.model_actions
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
