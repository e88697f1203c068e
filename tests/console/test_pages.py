"""The console's pages in process: what crosses projects, what is escaped, how forms and
unknown addresses are answered, and the one live stream a page has."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openarts.console import live
from openarts.console.api_client import ApiError, ConsoleApi, ends_session, segment
from openarts.console.cookie import COOKIE, Session
from openarts.console.pages import events, notebooks, overview, pools, services, training
from openarts.console.pages.common import total
from openarts.console.rendering import TEMPLATES
from openarts.services import buckets
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
        self.project_id = "p"

    async def get(self, path: str, **params: Any) -> Any:
        self.asked.append(path)
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
    assert set(first.parts) == {"state", "log", "events", "chart-0", "chart-1", "chart-2"}
    assert sum(p.endswith("/metrics/worker-0") for p in api.asked) == 1
    assert sum(p.endswith("/training-jobs/j1") for p in api.asked) == 1
    assert not first.final
    # Soon after: the log and state only; the charts are not due yet.
    second = await produce(api)  # type: ignore[arg-type]
    assert set(second.parts) == {"state", "log"}
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
    real = notebooks._rows

    async def counted(api: ConsoleApi) -> live.Update:
        nonlocal polls
        polls += 1
        return await real(api)

    monkeypatch.setattr(notebooks, "_rows", counted)
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
    assert "The public pool" in shown and "shared by time" in shown, shown
    assert "None of this project's work is in the public pool." in shown, shown
