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

import psutil
import pytest
import requests
from playwright.sync_api import Locator, Page, expect, sync_playwright

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
# Two fifths of this machine's memory (memory is never promised twice): two jobs of it
# fit in the public pool at most, whatever the machine, and a third waits.
BIG_MEMORY_GIB = round(0.4 * psutil.virtual_memory().total / 2**30, 2)
FLAVORS = f"""
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
  - name: test.cpu.big-memory
    vcpus: 0.25
    memory_gib: {BIG_MEMORY_GIB}
    uses: [training]
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
# Ends at once, one way or the other.
QUICK = 'print("done", flush=True)\n'
FAILS = 'raise SystemExit("this job fails on purpose")\n'
# A relative time's words, and the exact UTC time its title holds.
RELATIVE = re.compile(r"^(just now|\d+ (min|h|days?) ago|in \d+ (min|h|days?)|\d{4}-\d\d-\d\d)$")
UTC_TITLE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


def artefacts() -> Path:
    folder = os.environ.get("OPENARTS_TEST_ARTEFACTS")
    path = Path(folder) if folder else Path(__file__).parents[2] / "test-artefacts" / "console"
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=str(artefacts() / f"{name}.png"), full_page=True)


def expect_relative_times(within: Locator) -> None:
    """Every time shown in ``within`` reads as words, with the exact UTC time on hover."""
    times = within.locator("time")
    expect(times.first).to_be_visible(timeout=WAIT)
    for i in range(times.count()):
        shown = times.nth(i)
        assert RELATIVE.match(shown.inner_text()), shown.inner_text()
        assert UTC_TITLE.match(shown.get_attribute("title") or ""), shown.get_attribute("title")


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
    # Where a newcomer finds the first password.
    hint = page.locator("#first-password")
    expect(hint).to_contain_text("admin-password", timeout=WAIT)
    expect(hint).to_contain_text("OPENARTS_ADMIN_PASSWORD", timeout=WAIT)
    screenshot(page, "sign-in-refused")
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
    # The image chosen at first is the one that starts at once (the server's own Python).
    chosen = page.locator("select[name=image_id] option:checked")
    expect(chosen).to_contain_text("starts at once", timeout=WAIT)
    expect(chosen).to_have_text(re.compile(r"^python3\.\d+-jupyterlab"), timeout=WAIT)
    page.select_option("select[name=flavor]", value="test.notebook.small")
    page.fill("input[name=lease_hours]", "2")
    page.click("#create-notebook button[type=submit]")
    expect(page.locator("h1")).to_have_text("Notebook console-nb", timeout=WAIT)
    notebook_url = page.url
    state = page.locator("#notebook-state")
    expect(state.locator(".status").first).to_have_text("RUNNING", timeout=150_000)
    # Running: Stop and Delete are offered, Start is not (it says why on hover).
    actions = page.locator("#notebook-actions")
    expect(actions.locator("button[data-action=Start]")).to_be_disabled(timeout=WAIT)
    expect(actions.locator("button[data-action=Start]")).to_have_attribute(
        "title", "It is running.", timeout=WAIT
    )
    expect(actions.locator("button[data-action=Stop]")).to_be_enabled(timeout=WAIT)
    expect(page.locator("nav.crumbs a")).to_have_text("Notebooks", timeout=WAIT)
    screenshot(page, "notebook-detail")
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
    # The list filtered by status, by the API: a stopped one would show, this one does not.
    page.select_option("form.filters select[name=status]", "STOPPED")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"status=STOPPED"), timeout=WAIT)
    expect(page.locator("#notebook-rows")).to_contain_text(
        "No notebooks match the filters.", timeout=WAIT
    )
    page.select_option("form.filters select[name=status]", "RUNNING")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#notebook-rows tr", has_text="console-nb")).to_have_count(1, timeout=WAIT)
    screenshot(page, "notebooks-filtered")
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
    # Only the chosen source's fields show: an algorithm hides the code's, and back.
    expect(form.locator("input[name=code_dir]")).to_be_visible(timeout=WAIT)
    expect(form.locator("select[name=algorithm_id]")).to_be_hidden(timeout=WAIT)
    form.locator("input[name=source][value=algorithm]").check()
    expect(form.locator("input[name=code_dir]")).to_be_hidden(timeout=WAIT)
    expect(form.locator("select[name=algorithm_id]")).to_be_visible(timeout=WAIT)
    screenshot(page, "training-form-algorithm")
    form.locator("input[name=source][value=code]").check()
    expect(form.locator("input[name=code_dir]")).to_be_visible(timeout=WAIT)
    # The flavor by its name once, with what it has.
    flavor = form.locator("select[name=flavor_id] option[value='test.cpu.small']")
    expect(flavor).to_have_text(re.compile(r"^test\.cpu\.small · .*MiB$"), timeout=WAIT)
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
    # Completed: Terminate is disabled, and says why; Delete stays.
    terminate = page.locator("#job-actions button[data-action=Terminate]")
    expect(terminate).to_be_disabled(timeout=WAIT)
    expect(terminate).to_have_attribute(
        "title", "The job has already ended (Completed).", timeout=WAIT
    )
    expect(page.locator("#job-actions button[data-action=Delete]")).to_be_enabled()
    # Where the page is: the list it belongs to, then its own name.
    expect(page.locator("nav.crumbs a")).to_have_text("Training jobs", timeout=WAIT)
    expect(page.locator("nav.crumbs [aria-current=page]")).to_have_text("console-job")
    expect_relative_times(page.locator("#job-state"))
    # A job of seconds has no line to draw: its chart says so in words that are true.
    expect(page.locator("#chart-0")).to_contain_text(
        re.compile(r"ended before any CPU sample|under a minute: one per-minute average"),
        timeout=WAIT,
    )
    screenshot(page, "job-detail")
    page.locator("nav.crumbs a").click()
    expect(page.locator("h1")).to_have_text("Training jobs", timeout=WAIT)


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
    # The model's own Deploy action leads to the deploy form with it chosen.
    page.goto("/console/models")
    row = page.locator(f"tr[data-id='{model_id}']")
    expect(row.locator(".status")).to_have_text("published", timeout=WAIT)
    screenshot(page, "models")
    row.locator("[data-action=Deploy]").click()
    expect(page).to_have_url(re.compile(f"/console/services\\?model_id={model_id}"), timeout=WAIT)
    form = page.locator("#deploy-service")
    expect(form.locator("select[name=model_id]")).to_have_value(model_id, timeout=WAIT)
    form.locator("input[name=name]").fill("console-iris")
    form.locator("select[name=specification]").select_option("test.infer.small")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Service console-iris", timeout=WAIT)
    expect(page.locator("#service-state .status").first).to_have_text("running", timeout=180_000)
    actions = page.locator("#service-actions")
    expect(actions.locator("button[data-action=Start]")).to_be_disabled(timeout=WAIT)
    expect(actions.locator("button[data-action=Stop]")).to_be_enabled(timeout=WAIT)
    expect(page.locator("#service-config fieldset")).to_be_enabled(timeout=WAIT)
    expect(page.locator("nav.crumbs a")).to_have_text("Services", timeout=WAIT)
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
    rate = page.locator("#rate-chart")
    # Readable legends with units, and the time axis in 24-hour UTC, its labels far enough
    # apart not to overlap (uPlot draws them on a canvas; the chart keeps their text).
    expect(rate.locator(".u-legend")).to_contain_text("Requests, per second", timeout=WAIT)
    expect(rate.locator(".u-legend")).to_contain_text("Time (UTC)", timeout=WAIT)
    ticks = (rate.get_attribute("data-x-ticks") or "").split()
    assert ticks and all(re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?", t) for t in ticks), (
        ticks
    )
    width = rate.locator("canvas").bounding_box()
    assert width is not None and len(ticks) <= width["width"] / 80 + 1, (ticks, width)

    # The service uses the model: deleting it is refused in words, and the model stays.
    page.goto("/console/models")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f'button[hx-post="/console/models/{model_id}/delete"]')
    expect(page.locator("#flash")).to_contain_text("ModelArts.3009", timeout=WAIT)
    expect(page.locator("#flash")).not_to_contain_text("deleted")
    kept = signed_call(server, "GET", f"/v1/{{project_id}}/models/{model_id}")
    assert kept.status_code == 200, kept.text


def _job(
    server: ServerProcess,
    name: str,
    pool: str,
    nodes: int,
    *,
    script: str = "hold.py",
    flavor: str = "test.cpu.small",
) -> dict[str, Any]:
    resource: dict[str, Any] = {"flavor_id": flavor, "node_count": nodes}
    if pool:
        resource["pool_id"] = pool
    body = {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"/{BUCKET}/hold/",
            "boot_file": f"/{BUCKET}/hold/{script}",
            "engine": {"engine_name": "Python"},
        },
        "spec": {"resource": resource},
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


def _phase(server: ServerProcess, job_id: str) -> str:
    shown = signed_call(server, "GET", f"/v2/{{project_id}}/training-jobs/{job_id}")
    return str(shown.json()["status"]["phase"])


def _terminate(server: ServerProcess, job_id: str) -> None:
    ended = signed_call(
        server,
        "POST",
        f"/v2/{{project_id}}/training-jobs/{job_id}/actions",
        {"action_type": "terminate"},
    )
    # A job that has ended meanwhile is refused (400): nothing to stop.
    assert ended.status_code in (200, 202, 400), ended.text


def test_lists_filter_by_status_and_times_read_as_words(
    signed_in: Page, server: ServerProcess
) -> None:
    page = signed_in
    s3 = admin_s3(server)
    s3.put_object(Bucket=BUCKET, Key="hold/quick.py", Body=QUICK.encode())
    s3.put_object(Bucket=BUCKET, Key="hold/fails.py", Body=FAILS.encode())
    done = _job(server, "filter-done", "", 1, script="quick.py")["metadata"]["id"]
    failed = _job(server, "filter-fails", "", 1, script="fails.py")["metadata"]["id"]
    until(lambda: _phase(server, done) == "Completed", "a job to complete")
    until(lambda: _phase(server, failed) == "Failed", "a job to fail")
    page.goto("/console/training-jobs")
    rows = page.locator("#job-rows")
    expect(rows.locator("tr", has_text="filter-done")).to_have_count(1, timeout=WAIT)
    expect_relative_times(rows)
    page.select_option("form.filters select[name=phase]", "Failed")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"phase=Failed"), timeout=WAIT)
    expect(rows.locator("tr", has_text="filter-fails")).to_have_count(1, timeout=WAIT)
    expect(rows.locator("tr", has_text="filter-done")).to_have_count(0)
    assert rows.locator(".status", has_text="Completed").count() == 0
    # An ended job cannot be terminated: the button is there, disabled, saying why.
    terminate = rows.locator("tr", has_text="filter-fails").locator("[data-action=Terminate]")
    expect(terminate).to_be_disabled(timeout=WAIT)
    expect(terminate).to_have_attribute("title", "The job has already ended (Failed).")
    screenshot(page, "training-jobs-filtered")
    page.click("form.filters a.clear")
    expect(rows.locator("tr", has_text="filter-done")).to_have_count(1, timeout=WAIT)
    # The browser goes over the words again (at load, then now and then) with the same
    # rules as the server: what it shows is what the server wrote (asked again where a
    # minute turned between the two).

    def same_words() -> bool:
        page.reload()
        shown = rows.locator("time").all_inner_texts()
        served = page.request.get(page.url).text()
        return bool(shown) and shown == re.findall(r"<time [^>]*>([^<]*)</time>", served)

    until(same_words, "the browser's words to be the server's", timeout_s=30)


def test_an_error_stays_inside_the_page(signed_in: Page) -> None:
    page = signed_in
    page.goto("/console/training-jobs")
    form = page.locator("#create-job")
    form.locator("input[name=name]").fill("too-long-a-path")
    # The API quotes the path back: one word longer than the page is wide.
    form.locator("input[name=code_dir]").fill(f"/{BUCKET}/{'d' * 400}/")
    form.locator("input[name=boot_file]").fill(f"/{BUCKET}/elsewhere/train.py")
    form.locator("button[type=submit]").click()
    banner = page.locator(".error")
    expect(banner.locator(".error-code")).to_have_text("ModelArts.2758", timeout=WAIT)
    expect(banner.locator(".error-msg")).to_contain_text("d" * 400)
    wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], wide
    box = banner.bounding_box()
    assert box is not None and box["x"] + box["width"] <= wide[1], box
    # What was typed is kept for another try.
    expect(form.locator("input[name=name]")).to_have_value("too-long-a-path")
    screenshot(page, "error-banner")


def test_the_public_pool_shows_its_use_what_holds_it_and_why_work_waits(
    signed_in: Page, server: ServerProcess
) -> None:
    page = signed_in
    admin_s3(server).put_object(Bucket=BUCKET, Key="hold/hold.py", Body=HOLD.encode())
    # Each holds two fifths of the machine's memory: three cannot all run.
    jobs = [
        _job(server, f"public-hold-{i}", "", 1, flavor="test.cpu.big-memory")["metadata"]["id"]
        for i in range(3)
    ]
    try:

        def queued() -> dict[str, Any] | None:
            public = signed_call(server, "GET", "/v2/{project_id}/public-pool").json()
            ours = [e for e in public["items"] if e["name"].startswith("training job public-")]
            waiting = [e for e in ours if e.get("position")]
            running = [e for e in ours if not e.get("position")]
            return public if waiting and running else None

        until(queued, "a public-pool job to wait")
        page.goto("/console/pools")
        section = page.locator("#public-pool")
        expect(section.locator("[data-meter=vCPUs]")).to_contain_text("in use", timeout=WAIT)
        holders = section.locator("#public-holders")
        expect(holders.locator("a", has_text="public-hold-")).not_to_have_count(0, timeout=WAIT)
        queue = section.locator("#public-queue")
        waiting = queue.locator("tbody tr", has_text="public-hold-")
        expect(waiting.first.locator(".reason")).to_contain_text("waiting for", timeout=WAIT)
        expect(waiting.first.locator(".reason")).to_contain_text("held by", timeout=WAIT)
        expect_relative_times(queue)
        screenshot(page, "public-pool")
        # Each name leads to its job, which waits: it can still be terminated.
        waiting.first.locator("a").click()
        expect(page.locator("#job-state")).to_contain_text("Pending", timeout=WAIT)
        expect(page.locator("#job-actions [data-action=Terminate]")).to_be_enabled(timeout=WAIT)
    finally:
        for job_id in jobs:
            _terminate(server, job_id)


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
