"""Server-sent event streams for the live parts of pages (statuses, logs, charts).

A page has one stream at most (a browser opens only six connections to a host; a stream
per part would leave none for the page's buttons). The stream polls the public API for
its user, renders each part the page shows, and sends a part only when it changed, as an
event named after the part (``event: log``); static/console.js hands each event to the
element with that ``data-part``, closes the stream when the page is hidden and opens it
again when it is shown.

Events of the stream itself: ``note`` says in words why the parts are not fresh (an API
error; empty once they are again); ``expired`` sends the page back to sign-in; ``gone``
says the resource no longer exists and ends the stream; ``end`` says nothing will change
any more (a finished job).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import StreamingResponse

from openarts.console.api_client import ApiError, ConsoleApi, SessionExpired
from openarts.console.cookie import Session
from openarts.console.session import api_for

log = logging.getLogger("openarts.console")

# How often a stream asks the API again: quick enough to follow a log.
POLL_S = 1.0
# A comment now and then keeps proxies from closing a quiet stream, and lets the server
# notice a browser that went away.
KEEPALIVE_S = 15.0
# A browser that stays on a page for hours still gets a fresh session check now and then:
# the stream ends and EventSource opens a new one.
MAX_STREAM_S = 30 * 60.0
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Names the stream itself uses; no part may be called so.
RESERVED = frozenset({"note", "expired", "gone", "end", "message"})


@dataclass
class Update:
    """What one poll rendered: content by part name (only the parts that were due), and
    whether it is final (nothing will change any more)."""

    parts: dict[str, str] = field(default_factory=dict)
    final: bool = False


Produce = Callable[[ConsoleApi], Awaitable[Update]]


class Schedule:
    """When each slower part of a stream is due again (a chart every 10 s while the log
    follows every half second)."""

    def __init__(self, **every_s: float) -> None:
        self.every_s = every_s
        self.last: dict[str, float] = {}

    def due(self, name: str) -> bool:
        now = time.monotonic()
        if now - self.last.get(name, -1e12) < self.every_s[name]:
            return False
        self.last[name] = now
        return True


def event(data: str, name: str | None = None) -> str:
    """One SSE event; each line of the content is its own data: line (the browser joins
    them back with newlines). A lone CR ends a line for the browser too: split there as
    well, or a log's "\\revent: state" would start a field of its own."""
    head = f"event: {name}\n" if name else ""
    lines = _LINE_BREAK.split(data) if data else [""]
    return head + "".join(f"data: {line}\n" for line in lines) + "\n"


def _changes(update: Update, last: dict[str, str]) -> list[str]:
    sent = []
    for name, content in update.parts.items():
        assert name not in RESERVED, name
        if last.get(name) != content:
            sent.append(event(content, name))
            last[name] = content
    return sent


async def _poll(request: Request, api: ConsoleApi, produce: Produce) -> tuple[Update, str]:
    """One poll: the update, and what is wrong in words ("" when nothing)."""
    try:
        return await produce(api), ""
    except ApiError as error:
        if error.gone:
            raise
        return Update(), f"Live updates are failing: {error}. Retrying."
    except SessionExpired:
        raise
    except Exception:
        # A page that cannot be drawn says so and tries again; the cause is logged.
        log.exception("console stream %s failed", request.url.path)
        return Update(), "Live updates are failing; see the server log. Retrying."


async def _events(
    request: Request, api: ConsoleApi, produce: Produce, poll_s: float
) -> AsyncIterator[str]:
    last: dict[str, str] = {}
    note = ""
    quiet_since = started = time.monotonic()
    # The browser waits this long before reconnecting after the stream ends.
    yield "retry: 2000\n\n"
    while time.monotonic() - started < MAX_STREAM_S:
        if await request.is_disconnected():
            return
        try:
            update, problem = await _poll(request, api, produce)
        except SessionExpired:
            yield event("", "expired")
            return
        except ApiError as error:
            # Deleted (by this page's button or elsewhere): nothing left to follow.
            yield event(f"This no longer exists ({error}). Live updates stopped.", "gone")
            return
        chunks = _changes(update, last)
        if problem != note:
            chunks.append(event(problem, "note"))
            note = problem
        if chunks:
            yield "".join(chunks)
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        if update.final:
            yield event("", "end")
            return
        await asyncio.sleep(poll_s)


async def _owning_client(
    request: Request, session: Session, produce: Produce, poll_s: float
) -> AsyncIterator[str]:
    # The stream outlives the request's handler: it has an API client of its own,
    # closed when the stream ends (finished, or the browser went away).
    async with api_for(request, session) as api:
        async for chunk in _events(request, api, produce, poll_s):
            yield chunk


def stream(
    request: Request, session: Session, produce: Produce, *, poll_s: float | None = None
) -> StreamingResponse:
    # POLL_S looked up now, not at import: a test may make it quicker.
    every_s = POLL_S if poll_s is None else poll_s
    return StreamingResponse(
        _owning_client(request, session, produce, every_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
