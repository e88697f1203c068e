"""The console in headless Chromium against a real server process, on the console's own
origin: sign in, a notebook that reaches RUNNING, a training job whose log follows live,
a service answering a test request, and a full pool whose queue tells why a job waits.
One server and one browser page serve the whole module; each test signs in (the
``signed_in`` fixture) when the page is not, and makes what it needs itself."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from openarts.console.cookie import COOKIE, Session
from openarts.testing.iris import IRIS_FEATURES, IRIS_QUESTIONS, train_iris
from openarts.testing.server import ServerProcess
from tests.console.conftest import PASSWORD
from tests.e2e.conftest import signed_call
from tests.storage.conftest import admin_s3

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
if os.environ.get("OPENARTS_REQUIRE_BROWSER") == "1" and not Path(CHROMIUM).exists():
    pytest.fail("install Debian's chromium and chromium-driver", pytrace=False)
if not Path(CHROMIUM).exists():
    pytest.skip("no /usr/bin/chromium (Debian's chromium package)", allow_module_level=True)
# Playwright's expect() waits 5 s unless told; these waits are passed per call (a global
# setting would change other modules' tests too).
WAIT = 30_000

T = TypeVar("T")
BUCKET = "console-e2e"
FLAVORS = """
flavors:
  - name: test.notebook.small
    vcpus: 0.5
    memory_gib: 1
    uses: [notebook]
  - name: test.cpu.small
    vcpus: 0.25
    memory_gib: 0.5
    uses: [training]
  - name: test.infer.small
    vcpus: 0.25
    memory_gib: 0.5
    uses: [inference]
  - name: test.pool.half
    vcpus: 0.5
    memory_gib: 1
    uses: [pool]
"""
# Prints a line now and then, so the log grows while the job runs.
TRAIN = """
import os, sys, time
for step in range(1, 13):
    print(f"console step {step}", flush=True)
    time.sleep(0.5)
print("console training finished", flush=True)
"""
# Keeps a pool full until it is terminated.
HOLD = """
import time
time.sleep(120)
"""


def artefacts() -> Path:
    folder = os.environ.get("OPENARTS_TEST_ARTEFACTS")
    path = Path(folder) if folder else Path(__file__).parents[2] / "test-artefacts" / "console"
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=str(artefacts() / f"{name}.png"), full_page=True)


def until(probe: Callable[[], T | None], what: str, timeout_s: float = 120.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("console") / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {
        "OPENARTS_ADMIN_PASSWORD": PASSWORD,
        "OPENARTS_RECONCILE_INTERVAL_S": "0.5",
        "OPENARTS_REPLICA_RESTART_BASE_S": "0.2",
    }
    process = ServerProcess(home, env=env).start()
    try:
        admin_s3(process).create_bucket(Bucket=BUCKET)
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def page(server: ServerProcess) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, base_url=server.console_endpoint
            )
            context.set_default_timeout(30_000)
            yield context.new_page()
        finally:
            browser.close()


def sign_in(page: Page) -> None:
    page.fill("input[name=user]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Overview of project default", timeout=WAIT)


@pytest.fixture
def signed_in(page: Page) -> Page:
    """The module's page with a session, whatever the tests before it did."""
    page.goto("/console/")
    if "/console/login" in page.url:
        sign_in(page)
    return page


def test_sign_in_shows_the_overview(page: Page) -> None:
    page.context.clear_cookies()
    page.goto("/console/notebooks")
    expect(page).to_have_url(re.compile(r"/console/login$"), timeout=WAIT)
    page.fill("input[name=user]", "admin")
    page.fill("input[name=password]", "not the password")
    page.click("#login-form button[type=submit]")
    expect(page.locator(".error")).to_contain_text("ModelArts.4504", timeout=WAIT)
    sign_in(page)
    screenshot(page, "overview-signed-in")
    cookies = page.context.cookies()
    assert [c["httpOnly"] for c in cookies if c["name"] == "openarts_console"] == [True]
    assert page.evaluate("document.cookie") == ""


def test_the_console_has_an_origin_of_its_own(signed_in: Page, server: ServerProcess) -> None:
    # Jupyter, behind the API's port, runs users' JavaScript: the console is elsewhere.
    signed_in.goto(server.endpoint + "/console/")
    console_origin = re.escape(server.console_endpoint)
    expect(signed_in).to_have_url(re.compile(f"^{console_origin}/console/$"), timeout=WAIT)
    expect(signed_in.locator("h1")).to_have_text("Overview of project default", timeout=WAIT)


def test_a_notebook_reaches_running_without_reloading(
    signed_in: Page, server: ServerProcess
) -> None:
    page = signed_in
    page.goto("/console/notebooks")
    page.fill("#create-notebook input[name=name]", "console-nb")
    image = page.locator(
        "select[name=image_id] option", has_text=re.compile(r"^python3\.11-jupyterlab")
    )
    page.select_option("select[name=image_id]", value=image.get_attribute("value"))
    page.select_option("select[name=flavor]", value="test.notebook.small")
    page.fill("input[name=lease_hours]", "2")
    page.click("#create-notebook button[type=submit]")
    expect(page.locator("h1")).to_have_text("Notebook console-nb", timeout=WAIT)
    notebook_url = page.url
    state = page.locator("#notebook-state")
    expect(state.locator(".status").first).to_have_text("RUNNING", timeout=150_000)
    link = page.locator("#open-jupyter")
    expect(link).to_have_attribute("target", "_blank", timeout=WAIT)
    # The Jupyter token is in no page: only the console's route adds it, on the way out.
    notebook_id = notebook_url.rsplit("/", 1)[1]
    shown = signed_call(server, "GET", f"/v1/{{project_id}}/notebooks/{notebook_id}").json()
    assert shown["token"] not in page.content()
    assert link.get_attribute("href") == f"/console/notebooks/{notebook_id}/open"
    opened = page.request.get(link.get_attribute("href") or "", max_redirects=0)
    assert opened.status == 303
    assert opened.headers["location"].startswith(shown["url"])
    assert f"token={shown['token']}" in opened.headers["location"]
    page.goto("/console/notebooks")
    row = page.locator("#notebook-rows tr", has_text="console-nb")
    expect(row).to_contain_text("RUNNING", timeout=WAIT)
    assert shown["token"] not in page.content()
    screenshot(page, "notebooks")
    # A hidden page stops following; shown again, it follows again.
    rows = page.locator("#notebook-rows")
    expect(rows).to_have_attribute("data-live-state", "open", timeout=WAIT)
    set_hidden(page, True)
    expect(rows).to_have_attribute("data-live-state", "paused", timeout=WAIT)
    set_hidden(page, False)
    expect(rows).to_have_attribute("data-live-state", "open", timeout=WAIT)
    # Deleted while its page is open: the page says so, and stops asking.
    page.goto(notebook_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".toolbar button", has_text="Delete").click()
    expect(page.locator("#live-note")).to_contain_text("no longer exists", timeout=90_000)
    expect(state).to_have_attribute("data-live-state", "gone", timeout=WAIT)


def test_a_training_job_log_follows_live(signed_in: Page, server: ServerProcess) -> None:
    page = signed_in
    admin_s3(server).put_object(Bucket=BUCKET, Key="code/train.py", Body=TRAIN.encode())
    page.goto("/console/training-jobs")
    form = page.locator("#create-job")
    form.locator("input[name=name]").fill("console-job")
    form.locator("input[name=code_dir]").fill(f"/{BUCKET}/code/")
    form.locator("input[name=boot_file]").fill(f"/{BUCKET}/code/train.py")
    form.locator("select[name=flavor_id]").select_option("test.cpu.small")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Training job console-job", timeout=WAIT)
    # Marks this very document: a reload or a navigation would lose it.
    page.evaluate("window.consoleTestMark = 1")
    log = page.locator("#job-log")
    drawn = log.inner_text()
    assert "console training finished" not in drawn, drawn
    expect(log).to_contain_text("console step 2", timeout=90_000)
    expect(page.locator("#job-state")).to_contain_text("Running", timeout=WAIT)
    midway = log.inner_text()
    assert "console training finished" not in midway, midway
    # Lines the page did not have come in while the job runs, without a reload.
    expect(log).to_contain_text("console training finished", timeout=60_000)
    expect(page.locator("#job-state")).to_contain_text("Completed", timeout=60_000)
    assert page.evaluate("window.consoleTestMark") == 1
    expect(log).to_have_attribute("data-live-state", "ended", timeout=WAIT)
    # One stream for the whole page (a browser opens six connections to a host at most).
    assert page.locator("[data-live]").count() == 1
    screenshot(page, "job-detail")


def test_a_service_answers_a_test_request(
    signed_in: Page, server: ServerProcess, tmp_path: Path
) -> None:
    page = signed_in
    model = tmp_path / "iris.joblib"
    train_iris(model)
    config = {"model_algorithm": "predict_analysis", "model_type": "Scikit_Learn"}
    s3 = admin_s3(server)
    s3.put_object(Bucket=BUCKET, Key="iris/model/iris.joblib", Body=model.read_bytes())
    s3.put_object(Bucket=BUCKET, Key="iris/model/config.json", Body=json.dumps(config))
    page.goto("/console/models")
    form = page.locator("#import-model")
    form.locator("input[name=model_name]").fill("iris")
    form.locator("input[name=model_version]").fill("1.0.0")
    form.locator("input[name=model_type]").fill("Scikit_Learn")
    form.locator("input[name=source_location]").fill(f"obs://{BUCKET}/iris/model/")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("iris 1.0.0", timeout=WAIT)
    model_id = page.url.rsplit("/", 1)[1]

    def published() -> bool:
        shown = signed_call(server, "GET", f"/v1/{{project_id}}/models/{model_id}").json()
        assert shown["model_status"] != "failed", shown
        return bool(shown["model_status"] == "published")

    until(published, "the model to be published")
    page.goto("/console/services")
    form = page.locator("#deploy-service")
    form.locator("input[name=name]").fill("console-iris")
    form.locator("select[name=model_id]").select_option(model_id)
    form.locator("select[name=specification]").select_option("test.infer.small")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Service console-iris", timeout=WAIT)
    expect(page.locator("#service-state .status").first).to_have_text("running", timeout=180_000)
    flower, species = IRIS_QUESTIONS[0]
    body = {"data": {"req_data": [dict(zip(IRIS_FEATURES, flower, strict=True))]}}
    page.fill("#test-request textarea[name=body]", json.dumps(body))
    page.click("#test-request button[type=submit]")
    expect(page.locator("#test-answer")).to_contain_text("HTTP", timeout=WAIT)
    screenshot(page, "service-test-answer")
    answer = page.locator("#test-answer").inner_text()
    assert page.locator("#test-status").inner_text() == "HTTP 200", answer
    expect(page.locator("#test-body")).to_contain_text(species, timeout=WAIT)
    # The call went through the gateway: the monitor counts it (one call, none failed).
    counted = page.locator("#service-state td", has_text=re.compile(r"^\s*1 \(0\)\s*$"))
    expect(counted).to_have_count(1, timeout=WAIT)
    assert page.locator("[data-live]").count() == 1
    screenshot(page, "service-detail-counted")

    # Calls keep coming: the request-rate and latency charts draw them (a chart needs two
    # samples of its stream, 5 s apart, with calls between).
    drawn = page.locator("#rate-chart .uplot, #latency-chart .uplot")
    deadline = time.monotonic() + 90
    while True:
        page.click("#test-request button[type=submit]")
        try:
            expect(drawn).to_have_count(2, timeout=3000)
            break
        except AssertionError:
            assert time.monotonic() < deadline, page.locator("#latency-chart").inner_text()
    screenshot(page, "service-charts")

    # The service uses the model: deleting it is refused in words, and the model stays.
    page.goto("/console/models")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f'button[hx-post="/console/models/{model_id}/delete"]')
    expect(page.locator("#flash")).to_contain_text("ModelArts.3009", timeout=WAIT)
    expect(page.locator("#flash")).not_to_contain_text("deleted")
    kept = signed_call(server, "GET", f"/v1/{{project_id}}/models/{model_id}")
    assert kept.status_code == 200, kept.text


def _job(server: ServerProcess, name: str, pool: str, nodes: int) -> dict[str, Any]:
    body = {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"/{BUCKET}/hold/",
            "boot_file": f"/{BUCKET}/hold/hold.py",
            "engine": {"engine_name": "Python"},
        },
        "spec": {"resource": {"flavor_id": "test.cpu.small", "node_count": nodes, "pool_id": pool}},
    }
    created = signed_call(server, "POST", "/v2/{project_id}/training-jobs", body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_a_full_pool_shows_why_a_job_waits(signed_in: Page, server: ServerProcess) -> None:
    page = signed_in
    admin_s3(server).put_object(Bucket=BUCKET, Key="hold/hold.py", Body=HOLD.encode())
    network = signed_call(
        server,
        "POST",
        "/v1/{project_id}/networks",
        {
            "apiVersion": "v1",
            "kind": "Network",
            "metadata": {"labels": {"os.modelarts/name": "console-net"}},
            "spec": {"cidr": "192.168.7.0/24"},
        },
    )
    assert network.status_code == 200, network.text
    page.goto("/console/pools")
    form = page.locator("#create-pool")
    form.locator("input[name=name]").fill("console-pool")
    form.locator("select[name=flavor]").select_option("test.pool.half")
    form.locator("select[name=network]").select_option(network.json()["metadata"]["name"])
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Pool console-pool", timeout=WAIT)
    expect(page.locator("#pool-state dl")).to_contain_text("Running", timeout=60_000)
    pool = page.url.rsplit("/", 1)[1]
    first = _job(server, "fills-the-pool", pool, 2)
    second = _job(server, "waits-in-pool", pool, 1)
    rows = page.locator("#pool-workloads tbody tr")
    # The waiting job's reason names the one that fills the pool: its row is the one
    # without the waiting job's name.
    holder = rows.filter(has_text="fills-the-pool", has_not_text="waits-in-pool")
    expect(holder).to_contain_text("Running", timeout=60_000)
    waiting = rows.filter(has_text="waits-in-pool")
    expect(waiting).to_contain_text("Queue", timeout=WAIT)
    expect(waiting.locator(".reason")).to_contain_text("waiting for", timeout=60_000)
    expect(waiting.locator(".reason")).to_contain_text(
        "held by training job fills-the-pool", timeout=60_000
    )
    screenshot(page, "pool")
    for job in (second, first):
        job_id = job["metadata"]["id"]
        ended = signed_call(
            server,
            "POST",
            f"/v2/{{project_id}}/training-jobs/{job_id}/actions",
            {"action_type": "terminate"},
        )
        assert ended.status_code in (200, 202), ended.text


def set_hidden(page: Page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background (or comes back)."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def test_a_revoked_session_goes_back_to_sign_in(signed_in: Page, server: ServerProcess) -> None:
    page = signed_in
    page.goto("/console/training-jobs")
    expect(page.locator("#job-rows")).to_have_attribute("data-live-state", "open", timeout=WAIT)
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    session = Session.decode(cookie["value"])
    assert session is not None
    headers = {"X-Auth-Token": session.token, "X-Subject-Token": session.token}
    revoked = requests.delete(f"{server.endpoint}/v3/auth/tokens", headers=headers, timeout=10)
    assert revoked.status_code == 204, revoked.text
    # The live list learns it from the API's 401 and sends the page to sign-in.
    expect(page.locator("#notice")).to_have_text(
        "Your session has expired. Please sign in again.", timeout=WAIT
    )
    sign_in(page)
    screenshot(page, "overview-signed-in-again")


def test_a_stream_that_cannot_go_on_says_so(signed_in: Page) -> None:
    page = signed_in
    page.goto("/console/training-jobs")
    rows = page.locator("#job-rows")
    expect(rows).to_have_attribute("data-live-state", "open", timeout=WAIT)
    # The session cookie goes (as when it expires): the stream's next answer is the
    # sign-in page, not a stream, and the browser gives up on it.
    page.context.clear_cookies()
    set_hidden(page, True)
    set_hidden(page, False)
    expect(rows).to_have_attribute("data-live-state", "failed", timeout=WAIT)
    expect(page.locator("#live-note")).to_have_text(
        "Live updates stopped — reload the page.", timeout=WAIT
    )


def test_signing_out_ends_the_session(signed_in: Page) -> None:
    page = signed_in
    page.goto("/console/")
    page.click("#sign-out")
    expect(page.locator("#notice")).to_have_text("You have signed out.", timeout=WAIT)
    page.goto("/console/pools")
    expect(page).to_have_url(re.compile(r"/console/login$"), timeout=WAIT)
