"""The console's files: vendored libraries as VERSIONS.md records them, served from the
package; the server-sent event format of live parts."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from openarts.console import live
from openarts.console.api_client import ApiError, ConsoleApi, SessionExpired
from openarts.console.rendering import STATIC
from tests.console.conftest import Console

VENDOR = STATIC / "vendor"


def recorded() -> dict[str, str]:
    """file → sha256, from the table in VERSIONS.md."""
    table = (VENDOR / "VERSIONS.md").read_text("utf-8")
    return dict(re.findall(r"^\| (\S+) \| \S+ \| [\d.]+ \| ([0-9a-f]{64}) \|", table, re.M))


def test_every_vendored_file_is_recorded_with_its_checksum() -> None:
    files = {p.name for p in VENDOR.iterdir() if p.suffix in (".js", ".css")}
    hashes = recorded()
    assert set(hashes) == files
    for name, digest in hashes.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


# An opening script tag without a src attribute, whatever else it carries.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)


def test_no_page_loads_anything_from_elsewhere() -> None:
    templates = Path(STATIC.parent / "templates").rglob("*.html")
    for template in templates:
        text = template.read_text("utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), template
        # No inline script (CSP script-src 'self'), typed or not.
        assert not INLINE_SCRIPT.search(text), template


def test_the_inline_script_check_catches_every_form() -> None:
    for inline in ("<script>", '<script type="module">', "<SCRIPT type=text/javascript >"):
        assert INLINE_SCRIPT.search(inline), inline
    assert not INLINE_SCRIPT.search('<script src="/console/static/console.js" defer></script>')


async def test_static_files_are_served_and_nothing_else(console: Console) -> None:
    script = await console.client.get("/console/static/vendor/htmx.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.content == (VENDOR / "htmx.min.js").read_bytes()
    assert (await console.client.get("/console/static/nope.js")).status_code == 404
    assert (await console.client.get("/console/static/%2e%2e/session.py")).status_code == 404


def test_an_event_carries_each_line_as_data() -> None:
    assert live.event("a\nb") == "data: a\ndata: b\n\n"
    assert live.event("", "end") == "event: end\ndata: \n\n"
    # A carriage return in a log cannot start a field of its own.
    assert live.event("a\revent: state\r\nb", "log") == (
        "event: log\ndata: a\ndata: event: state\ndata: b\n\n"
    )


class _Request:
    class url:  # what live.py reads of a Request
        path = "/console/test"

    async def is_disconnected(self) -> bool:
        return False


async def _sent(*answers: live.Update | Exception) -> list[str]:
    queue = iter(answers)

    async def produce(api: ConsoleApi) -> live.Update:
        answer = next(queue)
        if isinstance(answer, Exception):
            raise answer
        return answer

    api: Any = None
    return [
        chunk
        async for chunk in live._events(_Request(), api, produce, 0.0)  # type: ignore[arg-type]
    ]


async def test_a_stream_sends_changed_parts_only_each_as_its_own_event() -> None:
    sent = await _sent(
        live.Update({"log": "one", "state": "x"}),
        live.Update({"log": "one"}),
        live.Update({"log": "two", "state": "x"}, final=True),
    )
    assert sent == [
        "retry: 2000\n\n",
        "event: log\ndata: one\n\nevent: state\ndata: x\n\n",
        "event: log\ndata: two\n\n",
        "event: end\ndata: \n\n",
    ]


async def test_a_failing_poll_is_said_in_words_and_a_gone_resource_ends_the_stream() -> None:
    failing = ApiError(500, "ModelArts.0010", "<b>broken</b>")
    # ModelArts answers a missing job with 400: known by its code.
    gone = ApiError(400, "ModelArts.2775", "The job does not exist.")
    sent = await _sent(failing, live.Update({"state": "x"}), gone)
    assert sent[1].startswith("event: note\ndata: Live updates are failing: ModelArts.0010")
    # Back to normal: the parts, and an empty note.
    assert sent[2] == "event: state\ndata: x\n\nevent: note\ndata: \n\n"
    assert sent[3].startswith("event: gone\ndata: This no longer exists (ModelArts.2775")
    assert len(sent) == 4


async def test_a_refused_token_sends_the_page_to_sign_in() -> None:
    sent = await _sent(SessionExpired("revoked"))
    assert sent == ["retry: 2000\n\n", "event: expired\ndata: \n\n"]
