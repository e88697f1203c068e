"""The console's pages in process: what crosses projects, what is escaped, how forms and
unknown addresses are answered, and the one live stream a page has."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from markupsafe import escape

from openarts.console import create_console, live, rendering, states, units
from openarts.console.api_client import ApiError, ConsoleApi, ends_session, segment
from openarts.console.cookie import COOKIE, Session
from openarts.console.pages import (
    events,
    images,
    notebooks,
    overview,
    pools,
    services,
    training,
)
from openarts.console.pages.common import total
from openarts.console.rendering import STATIC, TEMPLATES
from openarts.domain.engines import BUILTIN_ID
from openarts.domain.images import ImageStatus, preset_images
from openarts.domain.notebooks import STARTABLE, NotebookStatus
from openarts.domain.training import JobPhase
from openarts.services import buckets
from openarts.services import images as image_service
from tests.api.test_pools import network_body, pool_body
from tests.conftest import make_settings
from tests.console.conftest import PASSWORD, Console, second_project, start_console

SCRIPT = "<script>alert(1)</script>"


async def algorithm_in(console: Console, project_id: str, name: str, **extra: Any) -> str:
    """An algorithm made with the admin's keys in any project of theirs; its ID."""
    bucket = f"code-{project_id[:8]}"
    platform = console.api.platform
    async with platform.db.session() as session, session.begin():
        if await buckets.owner_of(session, bucket) is None:
            await platform.store.create_bucket(bucket)
            await buckets.record_bucket(session, name=bucket, project_id=project_id)
    body = {
        "metadata": {"name": name, **extra},
        "job_config": {"code_dir": f"/{bucket}/code/", "boot_file": f"/{bucket}/code/train.py"},
    }
    made = await console.api.call("POST", f"/v2/{project_id}/algorithms", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["metadata"]["id"])


async def test_a_resource_of_another_project_is_refused_in_words(console: Console) -> None:
    other = await second_project(console)
    secret = await algorithm_in(console, other, "secret-of-b", description="b-only-words")
    await console.sign_in()
    answer = await console.client.get(f"/console/algorithms/{secret}")
    assert answer.status_code in (400, 403, 404), answer.text
    assert 'class="error"' in answer.text
    assert "secret-of-b" not in answer.text and "b-only-words" not in answer.text
    listing = await console.client.get("/console/algorithms")
    assert "secret-of-b" not in listing.text


async def test_a_cookie_edited_to_another_project_opens_nothing_of_it(console: Console) -> None:
    other = await second_project(console)
    await algorithm_in(console, other, "secret-of-b")
    await console.sign_in()
    session = Session.decode(console.client.cookies[COOKIE])
    assert session is not None
    edited = Session(session.token, other, "second", session.user_name, session.expires_ms)
    console.client.cookies.set(COOKIE, edited.encode())
    answer = await console.client.get("/console/algorithms")
    # The token is scoped to the first project: the API refuses the other one.
    assert answer.status_code == 403
    assert "ModelArts.0210" in answer.text
    assert "secret-of-b" not in answer.text


async def test_names_and_api_messages_come_out_escaped(console: Console) -> None:
    await algorithm_in(console, console.api.project_id, "xss-algo", description=SCRIPT)
    await console.sign_in()
    listing = await console.client.get("/console/algorithms")
    found = re.search(r'href="/console/algorithms/([^"]+)">xss-algo<', listing.text)
    assert found, listing.text
    detail = await console.client.get(f"/console/algorithms/{found.group(1)}")
    assert detail.status_code == 200
    assert SCRIPT not in detail.text and "&lt;script&gt;" in detail.text
    # An ID the API quotes back in its error message.
    missing = await console.client.get("/console/training-jobs/<script>alert(1)")
    assert "<script>alert" not in missing.text and "&lt;script&gt;alert" in missing.text
    assert "base-uri 'none'" in missing.headers["content-security-policy"]


async def test_unknown_addresses_and_odd_ids_are_pages_in_words(console: Console) -> None:
    await console.sign_in()
    unknown = await console.client.get("/console/no/such/page")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    assert "The console has no page at /console/no/such/page" in unknown.text
    # Braces, dots and slashes in an ID are an ID, not a path or a format string.
    for odd in ("{0}", "{project_id}", "%2e%2e", "a%2Fb"):
        answer = await console.client.get(f"/console/training-jobs/{odd}")
        assert answer.status_code in (400, 404), (odd, answer.text)
        assert answer.headers["content-type"].startswith("text/html"), odd
        assert 'class="error"' in answer.text, odd
    for query in ("phase=Nonsense", "phase=%00"):
        answer = await console.client.get(f"/console/training-jobs?{query}")
        assert answer.status_code == 400, query
        assert "There is no phase" in answer.text
    assert (await console.client.get("/console/login?expired=abc")).status_code == 200


async def test_a_bad_number_is_shown_next_to_the_kept_input(console: Console) -> None:
    await console.sign_in()
    csrf = await console.csrf("/console/training-jobs")
    form = {"csrf": csrf, "name": "job", "source": "code", "flavor_id": "x"}
    for extra, field in (
        ({"node_count": "abc"}, "node_count"),
        ({"node_count": "0"}, "node_count"),
        ({"parameters": "epochs 2"}, "parameters"),
    ):
        answer = await console.client.post("/console/training-jobs", data={**form, **extra})
        assert answer.status_code == 400, extra
        assert f'id="error-{field}"' in answer.text, extra
        value = next(iter(extra.values()))
        assert value in answer.text, extra  # what was typed is still there
    nb = await console.client.post(
        "/console/notebooks", data={"csrf": csrf, "name": "nb", "lease_hours": "0"}
    )
    assert nb.status_code == 400 and 'id="error-lease_hours"' in nb.text
    listed = await console.api.call("GET", "/v1/{project_id}/notebooks")
    assert listed.json()["data"] == []
    # An action form answers in the flash area.
    lease = await console.client.post(
        "/console/notebooks/whatever/lease",
        data={"csrf": csrf, "hours": "abc"},
        headers={"HX-Request": "true"},
    )
    assert lease.status_code == 200 and "is not a whole number" in lease.text


async def test_a_failed_create_answers_with_the_api_status(console: Console) -> None:
    await console.sign_in()
    csrf = await console.csrf("/console/models")
    form = {"csrf": csrf, "model_name": "m", "model_version": "1.0.0", "model_type": "Nope"}
    answer = await console.client.post("/console/models", data={**form, "source_location": "x"})
    assert answer.status_code >= 400 and 'class="error"' in answer.text
    assert str(answer.status_code) in answer.text  # "(HTTP 4xx)" as the API said


def test_every_page_has_one_live_stream_at_most() -> None:
    for template in TEMPLATES.rglob("*.html"):
        assert template.read_text("utf-8").count("data-live=") <= 1, template


class FakeApi:
    """Canned answers by path, and the paths asked."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.params: list[dict[str, Any]] = []
        self.project_id = "p"

    async def get(self, path: str, **params: Any) -> Any:
        self.asked.append(path)
        self.params.append(params)
        for prefix, answer in self.answers.items():
            if path.endswith(prefix):
                if isinstance(answer, Exception):
                    raise answer
                return answer
        raise AssertionError(path)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.get(path)


def _job(phase: str) -> dict[str, Any]:
    return {
        "metadata": {"id": "j1", "name": "job"},
        "status": {"phase": phase, "tasks": ["worker-0"], "start_time": 0, "duration": 0},
    }


async def test_a_job_page_stream_asks_for_the_metrics_once_for_all_charts() -> None:
    metrics = {"metrics": [{"metric": "cpuUsage", "value": [1, 2]}]}
    api = FakeApi(
        {
            "/training-jobs/j1": _job("Running"),
            "/logs/preview": {"content": "line"},
            "/events": {"events": []},
            "/metrics/worker-0": metrics,
        }
    )
    produce = training._detail_producer("j1", "worker-0")
    first = await produce(api)  # type: ignore[arg-type]
    assert set(first.parts) == {
        "state",
        "actions",
        "log",
        "events",
        "chart-0",
        "chart-1",
        "chart-2",
    }
    assert sum(p.endswith("/metrics/worker-0") for p in api.asked) == 1
    assert sum(p.endswith("/training-jobs/j1") for p in api.asked) == 1
    assert not first.final
    # Soon after: the log, state and actions only; the charts are not due yet.
    second = await produce(api)  # type: ignore[arg-type]
    assert set(second.parts) == {"state", "actions", "log"}
    api.answers["/training-jobs/j1"] = _job("Completed")
    last = await produce(api)  # type: ignore[arg-type]
    assert last.final and "chart-0" in last.parts and "events" in last.parts


async def test_events_page_shows_a_failing_listing_like_the_others() -> None:
    refused = ApiError(500, "ModelArts.0010", "pools are down")
    api = FakeApi(
        {
            "/pools": refused,
            "/training-job-searches": {"items": []},
            "/services": {"services": []},
        }
    )
    rows, failures = await events.project_events(api)  # type: ignore[arg-type]
    assert rows == [] and failures == [refused]


def test_overview_counts_are_the_answers_totals() -> None:
    shown = [{"id": str(i)} for i in range(100)]
    assert total({"total": 250, "data": shown}, "total", shown) == 250
    assert total({"data": shown}, "total", shown) == 100
    assert overview.RUNNING  # the module loads with the new totals helper


def test_a_service_update_keeps_each_models_config() -> None:
    service = {
        "config": [
            {
                "model_id": "m1",
                "model_name": "iris",
                "status": "running",
                "weight": 100,
                "instance_count": 1,
                "specification": "small",
                "envs": {"A": "1"},
                "custom_spec": None,
            }
        ]
    }
    config = services.updated_config(service, {"weight-m1": "100", "count-m1": "3"})
    assert config == [
        {
            "model_id": "m1",
            "weight": 100,
            "instance_count": 3,
            "specification": "small",
            "envs": {"A": "1"},
        }
    ]


def test_scaling_one_flavor_keeps_the_others() -> None:
    pool = {
        "spec": {
            "resources": [
                {"flavor": "a", "count": 1, "maxCount": 1},
                {"flavor": "b", "count": 2, "maxCount": 2, "azs": None},
            ]
        }
    }
    assert pools.scaled_resources(pool, "b", 4) == [
        {"flavor": "a", "count": 1, "maxCount": 1},
        {"flavor": "b", "count": 4, "maxCount": 4},
    ]


def test_a_test_request_path_cannot_climb_out_of_the_service() -> None:
    for path in ("../x", "/a/../../b", "%2e%2e/x", "%252e%252e/x", "a\\b", "./x"):
        assert services.climbs_out(path), path
    for path in ("/", "/predict", "a..b/c"):
        assert not services.climbs_out(path), path


def test_an_id_is_one_quoted_segment() -> None:
    assert segment("a/b?c#d") == "a%2Fb%3Fc%23d"
    assert segment("{0}") == "%7B0%7D"
    for dots in ("", ".", ".."):
        with pytest.raises(ApiError):
            segment(dots)


def test_only_the_platforms_own_token_errors_end_the_session() -> None:
    def answer(code: str) -> httpx.Response:
        return httpx.Response(401, json={"error_code": code, "error_msg": "no"})

    assert ends_session(answer("ModelArts.0203"))
    assert ends_session(answer("ModelArts.0202"))
    # The user's model said 401 (through the gateway): its answer, not the session's end.
    assert not ends_session(answer("MyModel.Unauthorized"))
    assert not ends_session(httpx.Response(401, text="go away"))
    assert not ends_session(httpx.Response(403, json={"error_code": "ModelArts.0203"}))


def _asgi_app(console: Console) -> Any:
    transport = console.client._transport  # the in-process server the client talks to
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app


async def test_a_stream_ends_when_the_browser_goes_away(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    await console.sign_in()
    monkeypatch.setattr(live, "POLL_S", 0.01)
    polls = 0
    real = notebooks._rows_producer

    def counted_rows(status: str, name: str) -> live.Produce:
        produce = real(status, name)

        async def counted(api: ConsoleApi) -> live.Update:
            nonlocal polls
            polls += 1
            return await produce(api)

        return counted

    monkeypatch.setattr(notebooks, "_rows_producer", counted_rows)
    left = asyncio.Event()
    received: list[bytes] = []

    async def receive() -> dict[str, Any]:
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        received.append(message.get("body", b""))

    cookie = f"{COOKIE}={console.client.cookies[COOKIE]}".encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/console/notebooks/live",
        "raw_path": b"/console/notebooks/live",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie)],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    served = asyncio.create_task(_asgi_app(console)(scope, receive, send))
    deadline = time.monotonic() + 30
    while polls < 3 or b"event: rows" not in b"".join(received):
        assert time.monotonic() < deadline, "the stream sent nothing"
        assert not served.done(), served
        await asyncio.sleep(0.01)
    left.set()
    await asyncio.wait_for(served, timeout=10)
    # The request is over: nothing polls for it any more.
    after = polls
    for _ in range(5):
        await asyncio.sleep(0)
    assert polls == after


async def test_the_jupyter_route_needs_a_session_and_a_running_notebook(
    console: Console,
) -> None:
    unsigned = await console.client.get("/console/notebooks/nb1/open")
    assert unsigned.status_code == 303 and unsigned.headers["location"] == "/console/login"
    await console.sign_in()
    missing = await console.client.get("/console/notebooks/nb1/open")
    assert missing.status_code in (400, 404) and 'class="error"' in missing.text


def test_no_page_links_jupyter_with_its_token() -> None:
    for name in ("notebooks/rows.html", "notebooks/state.html"):
        text = (TEMPLATES / name).read_text("utf-8")
        assert "token" not in text and "/open" in text, name


def test_static_urls_carry_the_version() -> None:
    text = (TEMPLATES / "base.html").read_text("utf-8")
    assert len(re.findall(r'/console/static/[^"]+\?v=\{\{ version', text)) == 5
    assert Path(TEMPLATES / "base.html").exists()


def test_a_task_must_be_one_of_the_jobs() -> None:
    training.check_task(["worker-0", "worker-1"], "worker-1")
    for task in ("worker-9", "../logs", ""):
        with pytest.raises(ApiError):
            training.check_task(["worker-0"], task)


@pytest.fixture
async def pool_console(tmp_path: Path) -> AsyncIterator[Console]:
    """A console whose catalog has a pool flavor small enough for any test machine."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(
        "flavors:\n  - {name: modelarts.vm.cpu.tiny, vcpus: 0.25, memory_gib: 0.5, uses: [pool]}\n"
    )
    settings = make_settings(
        home, f"sqlite+aiosqlite:///{tmp_path / 'openarts.db'}", admin_password=PASSWORD
    )
    async for console in start_console(settings):
        yield console


async def test_pool_tags_show_their_values_and_can_be_removed(pool_console: Console) -> None:
    console = pool_console
    made = await console.api.call("POST", "/v1/{project_id}/networks", json=network_body())
    network = made.json()["metadata"]["name"]
    made = await console.api.call(
        "POST", "/v2/{project_id}/pools", json=pool_body(network, flavor="modelarts.vm.cpu.tiny")
    )
    assert made.status_code == 200, made.text
    pool = made.json()["metadata"]["name"]
    await console.sign_in()
    csrf = await console.csrf(f"/console/pools/{pool}")
    htmx = {"HX-Request": "true"}

    async def act(verb: str, **form: str) -> str:
        answer = await console.client.post(
            f"/console/pools/{pool}/{verb}", data={"csrf": csrf, **form}, headers=htmx
        )
        return answer.text

    assert "Tags saved" in await act("tag", tags="team=vision\ntier=gold")
    shown = (await console.client.get(f"/console/pools/{pool}")).text
    assert "team=vision" in shown and "tier=gold" in shown
    assert "Removed 1 tag(s)" in await act("untag", keys="tier")
    shown = (await console.client.get(f"/console/pools/{pool}")).text
    assert "team=vision" in shown and "tier" not in shown
    assert "Which tags?" in await act("untag", keys="  ")
    tags = (await console.api.call("GET", f"/v1/{{project_id}}/pools/{pool}/tags")).json()
    assert [(t["key"], t["value"]) for t in tags["tags"]] == [("team", "vision")]


async def test_the_pools_page_shows_the_public_pool_and_its_line(pool_console: Console) -> None:
    console = pool_console
    await console.sign_in()
    shown = (await console.client.get("/console/pools")).text
    assert "Public pool" in shown and "shared by time" in shown, shown
    assert 'id="public-queue"' in shown and 'id="public-holders"' in shown
    assert "Nothing waits" in shown and "Nothing runs in the public pool." in shown, shown
    # A meter per resource, with what is in use and what is free.
    assert shown.count('class="meter"') >= 2 and "0 of " in shown and "free" in shown


# -- what a newcomer reads: times, actions, filters, breadcrumbs, the public pool ----------
NOW = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def test_a_time_is_relative_words_with_the_exact_utc_time_as_its_title() -> None:
    three = NOW - timedelta(minutes=3)
    assert str(rendering.when(_ms(three), now=NOW)) == (
        f'<time datetime="2025-03-04T11:57:00Z" title="2025-03-04 11:57:00 UTC" '
        f'data-ts="{_ms(three)}">3 min ago</time>'
    )
    # ISO text (the pools' and events' APIs) reads the same as epoch milliseconds.
    for text in ("2025-03-04T11:57:00Z", "2025-03-04T11:57:00+00:00", str(_ms(three))):
        assert ">3 min ago</time>" in str(rendering.when(text, now=NOW)), text
    for before, words in (
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=59, seconds=59), "59 min ago"),
        (timedelta(hours=5, minutes=59), "5 h ago"),
        (timedelta(days=1, hours=2), "1 day ago"),
        (timedelta(days=9), "9 days ago"),
        (-timedelta(seconds=30), "in under a minute"),
        (-timedelta(hours=2, minutes=1), "in 2 h"),
        (timedelta(days=400), "2024-01-29"),
    ):
        assert rendering.relative(NOW - before, NOW) == words, before
    assert rendering.when(None) == "—" and rendering.when(0) == "—"
    # Not a time: shown as it came, escaped.
    assert str(rendering.when("<b>soon</b>")) == "&lt;b&gt;soon&lt;/b&gt;"


def test_the_browser_keeps_the_same_words_as_the_server() -> None:
    script = (STATIC / "console.js").read_text("utf-8")
    # The same thresholds and words as rendering.relative (the browser tests run both).
    for words in ('"just now"', '"in under a minute"', '"days"', '"day"', '"h"', '"min"'):
        assert words in script, words
    assert "count > 60" in script and "toISOString().slice(0, 10)" in script


def test_durations_are_said_in_the_units_a_person_uses() -> None:
    assert rendering.duration(2713) == "2 s"
    assert rendering.duration(156_000) == "2 min 36 s"
    assert rendering.duration(3_900_000) == "1 h 05 min"
    assert rendering.duration(None) == "—"


def _page(template: str, **context: Any) -> str:
    """A page's HTML as the console renders it for a signed-in user."""
    session = Session("token", "p", "default", "admin", 0)
    request = SimpleNamespace(url=SimpleNamespace(path="/console/x"))
    defaults: dict[str, Any] = {"form": {}, "field_errors": {}, "error": None}
    return rendering.render(
        template,
        request=request,
        session=session,
        csrf=session.csrf,
        projects=[],
        sandbox_warning=None,
        **{**defaults, **context},
    )


def _buttons(html: str) -> dict[str, str]:
    """Each action button's label → its opening tag."""
    return {
        found.group(2): found.group(0)
        for found in re.finditer(r'<button [^>]*data-action="([^"]+)"[^>]*>([^<]+)<', html)
    }


def _job_answer(phase: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"id": "j1", "name": "my-job", "create_time": _ms(NOW)},
        "status": {"phase": phase, "tasks": ["worker-0"], **status},
        "spec": {"resource": {"flavor_id": "f", "node_count": 1}},
    }


def test_terminate_is_disabled_once_a_job_has_ended() -> None:
    for phase in JobPhase:
        allowed = states.job_actions(phase.value)
        can = not phase.finished and phase is not JobPhase.TERMINATING
        assert (allowed["terminate"] is None) is can, phase
        assert allowed["delete"] is None
    html = rendering.render("training/actions.html", job=_job_answer("Completed"))
    buttons = _buttons(html)
    assert "disabled" in buttons["Terminate"]
    assert 'title="The job has already ended (Completed)."' in buttons["Terminate"]
    assert "hx-post" not in buttons["Terminate"]
    assert "disabled" not in buttons["Delete"] and "hx-post" in buttons["Delete"]
    running = _buttons(rendering.render("training/rows.html", jobs=[_job_answer("Running")]))
    assert "disabled" not in running["Terminate"] and "/terminate" in running["Terminate"]


def test_notebook_and_service_buttons_follow_the_apis_rules() -> None:
    for status in NotebookStatus:
        allowed = states.notebook_actions(status.value)
        assert (allowed["start"] is None) is (status in STARTABLE), status
    running = states.notebook_actions("RUNNING")
    assert running["start"] and running["stop"] is None and running["delete"] is None
    stopped = states.notebook_actions("STOPPED")
    assert stopped["start"] is None and stopped["stop"] and stopped["lease"]
    assert states.notebook_actions("SNAPSHOTTING")["stop"]
    nb = {"id": "n1", "name": "nb", "status": "STOPPED"}
    buttons = _buttons(rendering.render("notebooks/actions.html", nb=nb))
    assert "disabled" not in buttons["Start"] and "disabled" in buttons["Stop"]
    svc = states.service_actions("running")
    assert svc["start"] and svc["stop"] is None and svc["update"] is None
    assert states.service_actions("stopped")["start"] is None
    assert states.service_actions("stopped")["stop"]
    assert states.service_actions("deleting")["delete"]
    # "update" is also a method of a dict: the template must ask for the key.
    svc_answer = {"service_id": "s1", "service_name": "svc", "status": "running", "config": []}
    config = rendering.render("services/config.html", svc=svc_answer)
    assert "disabled" not in config
    assert "disabled" in rendering.render(
        "services/config.html", svc={**svc_answer, "status": "deleting"}
    )
    shown = _buttons(
        rendering.render(
            "services/rows.html",
            services=[{"service_id": "s1", "service_name": "svc", "status": "stopped"}],
        )
    )
    assert "disabled" not in shown["Start"] and "disabled" in shown["Stop"]


def test_detail_pages_say_where_they_are() -> None:
    job = _job_answer("Running")
    html = _page(
        "training/detail.html", job=job, parts={}, tasks=["worker-0"], task="worker-0", charts=[]
    )
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', html, re.S)
    assert crumbs, html
    assert '<a href="/console/training-jobs">Training jobs</a>' in crumbs.group(0)
    assert '<span aria-current="page">my-job</span>' in crumbs.group(0)
    for template, context, parent in (
        ("notebooks/detail.html", {"nb": {"id": "n1", "name": "nb"}, "parts": {}}, "Notebooks"),
        (
            "services/detail.html",
            {"svc": {"service_id": "s1", "service_name": "svc"}, "parts": {}},
            "Services",
        ),
        (
            "pools/detail.html",
            {"pool": {"metadata": {"name": "p1"}, "spec": {}}, "name": "gpus", "state": ""},
            "Pools",
        ),
        (
            "catalog/detail.html",
            {
                "title": "Model",
                "heading": "iris 1.0.0",
                "data": {},
                "trail": [("Models", "/console/models"), ("iris 1.0.0", None)],
            },
            "Models",
        ),
    ):
        html = _page(template, **context)
        assert 'class="crumbs"' in html and f">{parent}</a>" in html, template


def test_filters_are_the_apis_own() -> None:
    assert training.search_body("Failed", "abc")["filters"] == [
        {"key": "phase", "operator": "in", "value": ["Failed"]},
        {"key": "name", "operator": "like", "value": ["abc"]},
    ]


async def test_list_filters_are_sent_to_the_api() -> None:
    api = FakeApi({"/notebooks": {"data": []}, "/services": {"services": []}})
    await notebooks._rows_producer("RUNNING", "nb")(api)  # type: ignore[arg-type]
    await services._rows_producer("running", "iris")(api)  # type: ignore[arg-type]
    assert api.params[0] == {"limit": 100, "status": "RUNNING", "name": "nb"}
    assert api.params[1] == {"limit": 100, "status": "running", "service_name": "iris"}
    # A status asked by URL that the API does not know is refused in words.
    for producer in (notebooks._rows_producer, services._rows_producer):
        with pytest.raises(ApiError, match="There is no"):
            producer("Nonsense", "")


async def test_a_filtered_list_keeps_its_filters(console: Console) -> None:
    await console.sign_in()
    answer = await console.client.get("/console/notebooks?status=STOPPED&name=abc")
    assert answer.status_code == 200, answer.text
    assert '<option value="STOPPED" selected>' in answer.text
    assert 'name="name" value="abc"' in answer.text
    assert 'data-live="/console/notebooks/live?status=STOPPED&amp;name=abc"' in answer.text
    assert "No notebooks match the filters." in answer.text
    assert 'href="/console/notebooks">Clear filters</a>' in answer.text
    for path in (
        "/console/services?status=running&name=x",
        "/console/models?status=published&name=iris",
        "/console/training-jobs?phase=Completed",
    ):
        shown = await console.client.get(path)
        assert shown.status_code == 200, (path, shown.text)
        assert "match the filters" in shown.text, path
    for path in ("/console/notebooks?status=nope", "/console/models?status=nope"):
        refused = await console.client.get(path)
        assert refused.status_code == 400 and "There is no" in refused.text, path


async def test_the_notebook_form_offers_the_image_that_starts_at_once(console: Console) -> None:
    await console.sign_in()
    shown = (await console.client.get("/console/notebooks")).text
    ready = next(p for p in preset_images() if p.engine_id == BUILTIN_ID)
    chosen = re.search(r'<option value="([^"]+)" selected>([^<]+)<', shown)
    assert chosen, shown
    assert chosen.group(1) == ready.id
    assert "starts at once" in chosen.group(2)
    assert "prepared on first use" in shown  # the others say what they cost


def test_flavors_are_named_once_with_what_they_have() -> None:
    flavor = {
        "flavor_id": "modelarts.vm.cpu.2u",
        "flavor_name": "modelarts.vm.cpu.2u",
        "flavor_info": {"cpu": {"core_num": 2}, "memory": {"size": 8192, "unit": "MiB"}},
    }
    assert training.flavor_label(flavor) == "modelarts.vm.cpu.2u · 2 vCPUs · 8192 MiB"
    assert not training.has_gpu([flavor], "modelarts.vm.cpu.2u")
    assert training.has_gpu([flavor], "unknown")  # unknown: the GPU chart says so itself
    assert (
        notebooks.flavor_label({"id": "nb.small", "description": "0.5 vCPUs, 1 GiB"})
        == "nb.small · 0.5 vCPUs, 1 GiB"
    )
    spec = {"specification": "infer.small", "display_en": "0.25 vCPUs | 0.5 GiB"}
    assert services.spec_label(spec) == "infer.small · 0.25 vCPUs, 0.5 GiB"
    pool_flavor = {"metadata": {"name": "pool.half"}, "spec": {"cpu": "500m", "memory": "1Gi"}}
    assert pools.pool_flavor(pool_flavor) == ("pool.half", "pool.half · 0.5 vCPUs, 1 GiB")
    assert units.resources({"cpu": "2", "memory": "512Mi", "nvidia.com/gpu": "1"}) == (
        "2 vCPUs, 512 MiB, 1 GPU"
    )


def test_the_training_form_shows_only_the_chosen_sources_fields() -> None:
    context = {"phases": [], "phase": "", "name": "", "rows": "", "engines": [], "pools": []}
    for source, shown, hidden in (("algorithm", "algorithm", "code"), ("", "code", "algorithm")):
        html = _page(
            "training/list.html",
            form={"source": source},
            flavors=[("f1", "f1 · 2 vCPUs")],
            algorithms=[],
            **context,
        )
        assert f'data-show-if="source={shown}" >' in html, source
        assert f'data-show-if="source={hidden}" hidden>' in html, source
        # A radio button and its words are one label.
        assert re.search(r'<label class="choice"><input type="radio" name="source"', html)
        assert "f1 · 2 vCPUs</option>" in html


def test_an_error_banner_wraps_its_message_and_indents_json() -> None:
    error = ApiError(500, "HTTP.500", '{"error": {"detail": "' + "x" * 300 + '"}}')
    html = rendering.render("fragments/api_error.html", error=error)
    assert '<strong class="error-code">HTTP.500</strong>' in html
    assert '<pre class="error-msg">{\n  &#34;error&#34;: {' in html, html
    plain = rendering.render(
        "fragments/api_error.html", error=ApiError(400, "ModelArts.0101", "Invalid <b>")
    )
    assert '<div class="error-msg">Invalid &lt;b&gt;</div>' in plain
    css = (STATIC / "console.css").read_text("utf-8")
    assert "overflow-wrap: anywhere" in css and "white-space: pre-wrap" in css


def test_a_model_version_has_a_deploy_action() -> None:
    models = [
        {"model_id": "m1", "model_name": "iris", "model_version": "1.0.0"},
        {"model_id": "m2", "model_name": "iris", "model_version": "2.0.0"},
    ]
    models[0]["model_status"], models[1]["model_status"] = "published", "publishing"
    html = _page(
        "catalog/models.html",
        versions={"iris": models},
        statuses=states.MODEL_STATUSES,
        status="",
        name="",
        model_types=["Scikit_Learn"],
    )
    assert 'href="/console/services?model_id=m1#deploy" data-action="Deploy">Deploy</a>' in html
    waiting = re.search(r'<button[^>]*title="([^"]+)" data-action="Deploy">', html)
    assert waiting and "once it is published (it is publishing)" in waiting.group(1)
    deploy = _page(
        "services/list.html",
        statuses=[],
        status="",
        name="",
        rows="",
        models=models,
        specs=[],
        form={"model_id": "m1"},
    )
    assert '<option value="m1" selected >iris 1.0.0</option>' in deploy
    assert '<option value="m2"  disabled>iris 2.0.0 (publishing)</option>' in deploy


async def test_the_services_page_takes_the_model_to_deploy(console: Console) -> None:
    await console.sign_in()
    answer = await console.client.get("/console/services?model_id=some-model")
    assert answer.status_code == 200 and 'id="deploy-service"' in answer.text


def _public_pool() -> dict[str, Any]:
    return {
        "name": "public",
        "hosts": {"cpu": "2", "memory": "4Gi"},
        "capacity": {"cpu": "8", "memory": "4Gi"},
        "cpu_share": 4.0,
        "used": {"cpu": "6", "memory": "1Gi"},
        "free": {"cpu": "2", "memory": "3Gi"},
        "running": 3,
        "waiting": 2,
        "items": [
            {
                "id": "w1",
                "type": "train",
                "name": "training job holder",
                "status": "Running",
                "resources": {"cpu": "2", "memory": "256Mi"},
                "queued_at": "2025-03-04T11:50:00Z",
            },
            {
                "id": "w2",
                "type": "notebook",
                "name": "notebook lab",
                "status": "Running",
                "resources": {"cpu": "500m", "memory": "512Mi"},
                "queued_at": "2025-03-04T11:40:00Z",
            },
            {
                "id": "w3",
                "type": "train",
                "name": "training job waiter",
                "status": "Pending",
                "position": 1,
                "reason": "waiting for 4 vCPUs; held by training job holder",
                "resources": {"cpu": "0", "memory": "0Gi"},
                "queued_at": "2025-03-04T11:55:00Z",
            },
        ],
        "others_running": 1,
        "others_waiting": 1,
    }


async def test_the_public_pool_shows_its_use_who_holds_it_and_its_queue() -> None:
    jobs = [
        {"metadata": {"id": "j-holder", "name": "holder"}},
        {"metadata": {"id": "j-waiter", "name": "waiter"}},
    ]
    api = FakeApi(
        {
            "/public-pool": _public_pool(),
            "/training-job-searches": {"items": jobs},
            "/notebooks": {"data": [{"id": "n-lab", "name": "lab"}]},
        }
    )
    view = await pools.public_view(api)  # type: ignore[arg-type]
    cpu, memory = view["meters"]
    shown = (cpu["used"], cpu["whole"], cpu["free"], cpu["percent"])
    assert shown == ("6", "8 vCPUs", "2 vCPUs", 75)
    assert (memory["used"], memory["whole"], memory["percent"]) == ("1 GiB", "4 GiB", 25)
    html = rendering.render("pools/public.html", **view)
    holders = html[html.index('id="public-holders"') : html.index('id="public-queue"')]
    assert '<a href="/console/training-jobs/j-holder">holder</a>' in holders
    assert '<a href="/console/notebooks/n-lab">lab</a>' in holders
    assert "2 vCPUs, 256 MiB" in holders
    # The rest of the use is other projects': 6 - 2.5 vCPUs, 1 GiB - 768 MiB.
    assert "1 running" in holders and "3.5 vCPUs, 256 MiB" in holders
    queue = html[html.index('id="public-queue"') :]
    assert '<a href="/console/training-jobs/j-waiter">waiter</a>' in queue
    assert "waiting for 4 vCPUs; held by training job holder" in queue
    assert "1 waiting" in queue  # another project's, counted
    assert 'title="2025-03-04 11:55:00 UTC"' in queue
    assert "6 of 8 vCPUs in use" in html and "4 times over" in html


def _chart(job: dict[str, Any], cpu: list[float], **options: Any) -> dict[str, Any]:
    series = [{"metric": "cpuUsage", "value": cpu}, {"metric": "memUsage", "value": cpu}]
    return training.metrics_charts(job, series, **options)[0]


def test_a_chart_without_a_line_says_what_is_true() -> None:
    ended = _job_answer("Completed", start_time=_ms(NOW), duration=2713)
    chart = _chart(ended, [-1.0])
    assert chart["empty"] == "This job ended before any CPU sample was taken (it ran 2 s)."
    assert chart["series"][0]["label"] == "CPU, % of the flavor's vCPUs"
    assert chart["series"][0]["values"] == [None]
    assert "ran 2 s, under a minute" in _chart(ended, [12.34])["empty"]
    assert "12.3 %" in _chart(ended, [12.34])["empty"]
    never = _job_answer("Terminated")
    assert _chart(never, [])["empty"] == "This job ended before it started: it has no samples."
    waiting = _job_answer("Pending")
    assert _chart(waiting, [])["empty"] == "No samples yet: the job has not started."
    running = _job_answer("Running", start_time=_ms(NOW))
    assert _chart(running, [-1.0])["empty"].startswith("No CPU samples yet")
    titles = [c["title"] for c in training.metrics_charts(running, [], gpu=False)]
    assert titles == ["CPU", "Memory"]  # no GPU chart for a flavor without one


async def test_the_sign_in_page_says_where_the_first_password_is(tmp_path: Path) -> None:
    async def no_front(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the sign-in page asks the API nothing")

    told = tmp_path / "srv-home" / "admin-password"
    for app, expected in (
        (create_console(no_front, infer_timeout_s=1, admin_password_file=told), str(told)),
        (create_console(no_front, infer_timeout_s=1), "~/.openarts/admin-password"),
    ):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            page = await client.get("/console/login")
        assert page.status_code == 200
        assert f"<code>{expected}</code>" in page.text
        assert "OPENARTS_ADMIN_PASSWORD" in page.text


def _image_row(html: str, image_id: str) -> str:
    """One image's row of the Images page."""
    start = html.index(f'<tr data-id="{image_id}">')
    return html[start : html.index("</tr>", start)]


async def _saved_image(console: Console, layer: Path, size_kb: int) -> str:
    """An image as saving a notebook leaves it once its layer is copied (ACTIVE, with the
    layer's size), made with the service's own record rather than by starting and saving
    a notebook first. Its ID."""
    platform = console.api.platform
    ready = next(p for p in preset_images() if p.engine_id == BUILTIN_ID)
    row = image_service.saved_image_row(
        project_id=console.api.project_id,
        notebook_id="",
        namespace="team",
        name="lab-env",
        tag="v1",
        description="",
        workspace_id="0",
        base=image_service.preset_view(ready),
    )
    row.status, row.status_message = ImageStatus.ACTIVE, "saved"
    row.layers, row.size_kb = json.dumps([str(layer)]), size_kb
    async with platform.db.session() as session, session.begin():
        await image_service.insert_saved_image(session, row)
    return str(row.id)


async def test_the_images_page_shows_sizes_paths_and_the_notebooks_on_each(
    console: Console, tmp_path: Path
) -> None:
    await console.sign_in()
    registered = await console.api.call(
        "POST",
        "/v1/{project_id}/images",
        json={"swr_path": "registry.example.com/team/x:1", "description": "pushed by hand"},
    )
    assert registered.status_code == 200, registered.text
    # A registered container image cannot hold a notebook here (the backend runs
    # processes): the notebook goes on an image saved from another, as users do.
    layer = tmp_path / "layer"
    layer.mkdir()
    saved = await _saved_image(console, layer, size_kb=1_572_864)
    flavors = (await console.api.call("GET", "/v1/{project_id}/notebooks/flavors")).json()
    body = {
        "name": "lab",
        "flavor": flavors["data"][0]["id"],
        "image_id": saved,
        "volume": {"category": "EVS", "ownership": "MANAGED"},
    }
    created = await console.api.call("POST", "/v1/{project_id}/notebooks", json=body)
    assert created.status_code == 200, created.text
    notebook = created.json()["id"]

    shown = await console.client.get("/console/images")
    assert shown.status_code == 200, shown.text
    row = _image_row(shown.text, saved)
    assert "lab-env:v1" in row and "<code>team/lab-env:v1</code>" in row
    assert '<td class="nowrap size">1.5 GiB</td>' in row
    assert f'Notebook <a href="/console/notebooks/{notebook}">lab</a>' in row
    # Registered: its path, type and the status's words; no size known, no user.
    mine = _image_row(shown.text, registered.json()["id"])
    assert "<code>registry.example.com/team/x:1</code>" in mine and "DEDICATED" in mine
    message = registered.json()["status_message"]
    assert f'title="{escape(message)}">ACTIVE</span>' in mine
    assert '<td class="nowrap size">—</td>' in mine and "<a href" not in mine
    assert "<time datetime=" in mine and 'title="20' in mine  # relative, UTC on hover
    # A preset has no file of its own: no size rather than "0 B".
    preset = next(iter(preset_images()))
    assert '<td class="nowrap size">—</td>' in _image_row(shown.text, preset.id)

    # The API's filters, kept in the address; a name's case says nothing.
    only = await console.client.get("/console/images?type=DEDICATED&name=LAB")
    assert saved in only.text and registered.json()["id"] not in only.text
    assert '<option value="DEDICATED" selected>' in only.text
    none = await console.client.get("/console/images?type=BUILD_IN&name=lab-env")
    assert "No images match the filters." in none.text
    refused = await console.client.get("/console/images?type=nope")
    assert refused.status_code == 400 and "There is no image type" in refused.text


def test_a_job_uses_an_image_by_its_path_under_any_host() -> None:
    pushed = "127.0.0.1:8083/team/x:1"
    assert images.same_image(pushed, pushed)
    # The cloud's address for the registry's image, or none at all.
    assert images.same_image("swr.cn-north-4.myhuaweicloud.com/team/x:1", pushed)
    assert images.same_image("team/x:1", pushed)
    # A saved image's path has no host.
    assert images.same_image("swr.example.com/team/lab-env:v1", "team/lab-env:v1")
    for other in ("swr.example.com/other/x:1", "swr.example.com/team/x:2", "x:1", ""):
        assert not images.same_image(other, pushed), other
    assert not images.same_image("x:1", "127.0.0.1:8083/x:1")


def _running(job_id: str, url: str) -> dict[str, Any]:
    return {
        "metadata": {"id": job_id, "name": f"job-{job_id}"},
        "status": {"phase": "Running"},
        "algorithm": {"engine": {"image_url": url}},
    }


async def test_used_by_lists_running_jobs_and_says_what_it_could_not_read() -> None:
    jobs = [
        _running("j1", "swr.cn-north-4.myhuaweicloud.com/team/x:1"),
        _running("j2", "swr.example.com/team/y:1"),
        {"metadata": {"id": "j3", "name": "preset"}, "algorithm": {"engine": {}}},
    ]
    refused = ApiError(500, "ModelArts.0010", "notebooks are down")
    api = FakeApi({"/notebooks": refused, "/training-job-searches": {"items": jobs, "total": 70}})
    users = await images.Users().read(api)  # type: ignore[arg-type]
    assert users.failures == [refused] and users.partial
    image = {"id": "i1", "swr_path": "127.0.0.1:8083/team/x:1"}
    assert images.used_by(image, users.notebooks, users.jobs) == [
        {
            "kind": "Training job",
            "name": "job-j1",
            "href": "/console/training-jobs/j1",
            "status": "Running",
        }
    ]
    # Only jobs not yet ended are asked for: an ended one uses nothing.
    assert set(images.LIVE_PHASES) == {"Creating", "Pending", "Running", "Terminating", "Abnormal"}
    html = _page(
        "catalog/images.html",
        rows=[],
        total=0,
        failures=users.failures,
        partial=True,
        types=[],
        image_type="",
        name="",
        reads=(100, 50),
    )
    assert "notebooks are down" in html and "No images yet." in html
    assert "the project has more" in html
