"""Signing in and out, session expiry, CSRF and the project switcher, in process."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from openarts.console.cookie import COOKIE, Session
from openarts.security.login_throttle import LIMIT
from tests.conftest import make_settings
from tests.console.conftest import PASSWORD, Console, second_project, start_console

PAGES = [
    "/console/",
    "/console/notebooks",
    "/console/training-jobs",
    "/console/algorithms",
    "/console/models",
    "/console/services",
    "/console/pools",
    "/console/events",
    "/console/images",
]


async def test_a_wrong_password_is_refused_in_words_and_sets_no_cookie(console: Console) -> None:
    answer = await console.client.post(
        "/console/login", data={"user": "admin", "password": "wrong", "project": "default"}
    )
    assert answer.status_code == 401
    assert "ModelArts.4504" in answer.text
    assert "password is wrong" in answer.text
    assert "set-cookie" not in answer.headers
    assert COOKIE not in console.client.cookies


async def test_pages_need_the_session_cookie(console: Console) -> None:
    for path in PAGES:
        answer = await console.client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/console/login"
    # An htmx request is sent to sign-in the way htmx follows.
    answer = await console.client.post("/console/notebooks/x/stop", headers={"HX-Request": "true"})
    assert answer.headers["HX-Redirect"] == "/console/login"
    sign_in = await console.client.get("/console/login")
    assert sign_in.status_code == 200 and 'name="password"' in sign_in.text


async def test_signing_in_sets_a_strict_http_only_cookie_and_every_page_renders(
    console: Console,
) -> None:
    answer = await console.sign_in()
    assert answer.headers["location"] == "/console/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/console" in cookie
    token = console.token()
    for path in PAGES:
        page = await console.client.get(path)
        assert page.status_code == 200, (path, page.text)
        # The token stays in the HttpOnly cookie: never in a page.
        assert token not in page.text, path
        assert 'class="error"' not in page.text, (path, page.text)
        assert page.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_signing_out_clears_the_cookie_and_revokes_the_token(console: Console) -> None:
    await console.sign_in()
    old = console.client.cookies[COOKIE]
    csrf = await console.csrf()
    answer = await console.client.post("/console/logout", data={"csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?signed_out=1"
    assert 'openarts_console=""' in answer.headers["set-cookie"]
    assert "Max-Age=0" in answer.headers["set-cookie"]
    assert COOKIE not in console.client.cookies
    # A copy of the old cookie is worth nothing any more.
    console.client.cookies.set(COOKIE, old)
    again = await console.client.get("/console/notebooks")
    assert again.status_code == 303
    assert again.headers["location"] == "/console/login?expired=1"


async def test_an_invalid_or_expired_token_goes_back_to_sign_in(console: Console) -> None:
    await console.sign_in()
    valid = Session.decode(console.client.cookies[COOKIE])
    assert valid is not None
    forged = Session("not-a-token", valid.project_id, "default", "admin", valid.expires_ms)
    console.client.cookies.clear()
    console.client.cookies.set(COOKIE, forged.encode())
    answer = await console.client.get("/console/notebooks")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?expired=1"
    assert "Max-Age=0" in answer.headers["set-cookie"]
    past = Session(valid.token, valid.project_id, "default", "admin", int(time.time() * 1000) - 1)
    console.client.cookies.set(COOKIE, past.encode())
    answer = await console.client.get("/console/")
    assert answer.headers["location"] == "/console/login?expired=1"
    notice = await console.client.get("/console/login?expired=1")
    assert "Your session has expired" in notice.text
    # A GET changes nothing: a link from elsewhere cannot sign anyone out.
    assert "set-cookie" not in notice.headers


async def test_the_sign_in_page_does_not_sign_out(console: Console) -> None:
    await console.sign_in()
    notice = await console.client.get("/console/login?expired=1")
    assert "set-cookie" not in notice.headers
    assert (await console.client.get("/console/notebooks")).status_code == 200


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    console: Console,
) -> None:
    await console.sign_in()
    form = {"name": "nb-csrf", "flavor": "modelarts.vm.cpu.free", "image_id": "x"}
    for extra in ({}, {"csrf": "0" * 64}):
        answer = await console.client.post("/console/notebooks", data={**form, **extra})
        assert answer.status_code == 403
        assert "security token" in answer.text
    refused = await console.client.post(
        "/console/pools", data={"name": "p"}, headers={"HX-Request": "true"}
    )
    assert "security token" in refused.text and refused.headers["HX-Retarget"] == "#flash"
    listed = await console.api.call("GET", "/v1/{project_id}/notebooks")
    assert listed.json()["data"] == []
    # Signing out needs it too.
    assert (await console.client.post("/console/logout")).status_code == 403
    # The right token, but another origin's page sent it (the notebooks' port, say).
    csrf = await console.csrf()
    elsewhere = await console.client.post(
        "/console/logout", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "same-site"}
    )
    assert elsewhere.status_code == 403


async def test_api_errors_are_shown_in_words(console: Console) -> None:
    await console.sign_in()
    csrf = await console.csrf("/console/training-jobs")
    answer = await console.client.post(
        "/console/training-jobs",
        data={"csrf": csrf, "name": "bad job", "source": "code", "flavor_id": "no.such"},
    )
    assert answer.status_code == 400
    assert 'class="error"' in answer.text and "ModelArts." in answer.text
    missing = await console.client.get("/console/training-jobs/no-such-job")
    assert "ModelArts.2775" in missing.text
    action = await console.client.post(
        "/console/notebooks/no-such/stop", data={"csrf": csrf}, headers={"HX-Request": "true"}
    )
    assert action.status_code == 200 and "ModelArts." in action.text


async def test_the_project_switcher_changes_the_project(console: Console) -> None:
    other_id = await second_project(console)
    await console.sign_in()
    page = await console.client.get("/console/notebooks")
    assert 'id="project-switcher"' in page.text and ">second</option>" in page.text
    csrf = await console.csrf()
    answer = await console.client.post(
        "/console/switch", data={"csrf": csrf, "project_id": other_id}
    )
    assert answer.status_code == 303, answer.text
    switched = Session.decode(console.client.cookies[COOKIE])
    assert switched is not None and switched.project_id == other_id
    assert switched.project_name == "second"
    page = await console.client.get("/console/")
    assert f'<option value="{other_id}" selected>second</option>' in page.text
    assert "Overview of project second" in page.text
    # A project the user is not a member of is refused in words.
    refused = await console.client.post(
        "/console/switch", data={"csrf": await console.csrf(), "project_id": "0" * 32}
    )
    assert 'class="error"' in refused.text


async def test_a_sign_in_sent_from_another_site_is_refused(console: Console) -> None:
    form = {"user": "admin", "password": PASSWORD, "project": "default"}
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port of the host: the notebooks' origin
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
    ):
        answer = await console.client.post("/console/login", data=form, headers=headers)
        assert answer.status_code == 403, headers
        assert "sent from another site" in answer.text
        assert "set-cookie" not in answer.headers
    # The console's own page, as a browser sends it.
    own = {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}
    answer = await console.client.post("/console/login", data=form, headers=own)
    assert answer.status_code == 303
    console.client.cookies.clear()
    answer = await console.client.post(
        "/console/login", data=form, headers={"Origin": "http://testserver"}
    )
    assert answer.status_code == 303


async def test_the_cookie_is_secure_when_the_request_came_over_https(console: Console) -> None:
    plain = await console.sign_in()
    assert "secure" not in plain.headers["set-cookie"].lower()
    form = {"user": "admin", "password": PASSWORD, "project": "default"}
    answer = await console.client.post("https://testserver/console/login", data=form)
    assert answer.status_code == 303
    assert "; secure" in answer.headers["set-cookie"].lower()


async def test_a_csrf_value_that_is_not_ascii_is_refused_not_a_crash(console: Console) -> None:
    await console.sign_in()
    for sent in ("é" * 64, "\u2603"):
        answer = await console.client.post("/console/notebooks", data={"csrf": sent})
        assert answer.status_code == 403
        assert "security token" in answer.text


async def test_switching_project_revokes_the_old_token(console: Console) -> None:
    other = await second_project(console)
    await console.sign_in()
    old = console.client.cookies[COOKIE]
    old_token = console.token()
    answer = await console.client.post(
        "/console/switch", data={"csrf": await console.csrf(), "project_id": other}
    )
    assert answer.status_code == 303
    assert console.token() != old_token
    refused = await console.api.client.get("/v3/auth/projects", headers={"X-Auth-Token": old_token})
    assert refused.status_code == 401
    console.client.cookies.set(COOKIE, old)
    again = await console.client.get("/console/notebooks")
    assert again.headers["location"] == "/console/login?expired=1"


async def test_a_refused_switch_keeps_the_switcher_and_says_why(console: Console) -> None:
    await second_project(console)
    await console.sign_in()
    refused = await console.client.post(
        "/console/switch", data={"csrf": await console.csrf(), "project_id": "0" * 32}
    )
    assert refused.status_code >= 400
    assert 'class="error"' in refused.text
    assert 'id="project-switcher"' in refused.text
    # The session goes on.
    assert (await console.client.get("/console/notebooks")).status_code == 200


async def test_every_page_says_when_users_code_runs_unsandboxed(tmp_path: Path) -> None:
    home = tmp_path / "off"
    off = make_settings(
        home, f"sqlite+aiosqlite:///{tmp_path / 'off.db'}", admin_password=PASSWORD, sandbox="off"
    )
    async for console in start_console(off):
        sign_in = await console.client.get("/console/login")
        assert "Sandbox OFF: users" in sign_in.text and "sandbox-off" in sign_in.text
        await console.sign_in()
        page = await console.client.get("/console/notebooks")
        assert 'class="sandbox-off" role="alert"' in page.text
        health = await console.api.client.get("/health")
        assert health.json()["sandbox"]["enabled"] is False


async def test_no_warning_where_the_sandbox_is_on(console: Console) -> None:
    await console.sign_in()
    page = await console.client.get("/console/notebooks")
    assert "sandbox-off" not in page.text
    health = await console.api.client.get("/health")
    assert health.json()["sandbox"]["enabled"] is True
    assert "bubblewrap" in health.json()["sandbox"]["summary"]


async def test_guessing_from_one_address_does_not_lock_out_a_sign_in_from_another(
    console: Console,
) -> None:
    app = console.client._transport.app  # type: ignore[attr-defined]
    guesser = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=guesser, base_url="http://testserver") as mallory:
        wrong = {"user": "admin", "password": "not-it", "project": "default"}
        for _ in range(LIMIT):
            assert (await mallory.post("/console/login", data=wrong)).status_code == 401
        # Her address now waits, even with the right password ...
        right = {**wrong, "password": PASSWORD}
        slowed = await mallory.post("/console/login", data=right)
        assert "set-cookie" not in slowed.headers
        assert "Excessive number of requests" in slowed.text
    # ... while the admin's own browser signs in.
    await console.sign_in()
