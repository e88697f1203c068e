"""`openarts notebook` against a real server: a notebook really runs JupyterLab, reached
through the platform at the URL `open` prints; its lease, storage mounts, saving it as an
image, stop/start/delete; `wait` ending by the notebook's status; and refusals in words."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil
import pytest
import requests
import yaml

from openarts.testing.cli_runner import CliRunner
from openarts.testing.server import ServerProcess
from tests.cli.conftest import Cli

pytestmark = pytest.mark.e2e

T = TypeVar("T")
HOUR_MS = 3_600_000

FLAVORS = """
flavors:
  - name: test.notebook.small
    vcpus: 0.5
    memory_gib: 1
    uses: [notebook]
  - name: test.notebook.other
    vcpus: 0.5
    memory_gib: 1
    uses: [notebook]
"""


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("cli-notebooks") / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    process = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.5"}).start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def image_id(
    cli_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory, cli_runner: CliRunner
) -> str:
    cli = Cli(cli_server, tmp_path_factory.mktemp("cfg") / "config.yaml", cli_runner)
    images = cli.json("image", "list", "--type", "BUILD_IN")["data"]
    return str(next(i["id"] for i in images if i["name"].startswith("python")))


def until(probe: Callable[[], T | None], what: str, timeout_s: float = 60.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _created_id(line: str) -> str:
    # "created notebook <id> (<name>): CREATING"
    return line.split("created notebook ")[1].split()[0]


def _jupyter(notebook_id: str) -> list[psutil.Process]:
    """The notebook's JupyterLab process (started by the test's own server)."""
    found = []
    for process in psutil.process_iter(["environ", "cmdline"]):
        try:
            env = process.info["environ"] or {}
            if env.get("OPENARTS_NOTEBOOK_ID") == notebook_id and "jupyterlab" in (
                process.info["cmdline"] or []
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _answers(url: str) -> int:
    return requests.get(url, timeout=10).status_code


def test_notebook_runs_opens_prolongs_stops_starts_and_is_deleted(
    cli: Cli, image_id: str, tmp_path: Path
) -> None:
    created = cli.ok(
        "notebook",
        "create",
        "--name",
        "cli-nb",
        "--flavor",
        "test.notebook.small",
        "--image-id",
        image_id,
        "--duration-hours",
        "2",
        "--description",
        "from the CLI",
    )
    assert "cli-nb" in created and "CREATING" in created
    notebook = _created_id(created)

    waited = cli.run("notebook", "wait", notebook, "--timeout", "90")
    assert waited.returncode == 0, waited.stderr
    assert "RUNNING" in waited.stderr

    table = cli.ok("notebook", "list")
    assert notebook in table and "cli-nb" in table and "RUNNING" in table
    running = cli.json("notebook", "list", "--status", "RUNNING", "--name", "cli-n")["data"]
    assert [n["id"] for n in running] == [notebook]
    assert cli.json("notebook", "list", "--status", "STOPPED")["data"] == []
    shown = cli.ok("notebook", "show", notebook)
    assert "from the CLI" in shown and "test.notebook.small" in shown and "2 h" in shown

    # `open` prints the URL; with the token, it answers through the platform's proxy.
    url = cli.ok("notebook", "open", notebook).strip()
    assert url.startswith(cli.server.endpoint) and url.endswith("/lab") and "token" not in url
    # The URL alone leads to Jupyter's token page: `open` says how to pass the token.
    hint = cli.run("notebook", "open", notebook).stderr
    assert "--with-token" in hint and "--browser" in hint
    assert "--with-token" not in cli.run("notebook", "open", notebook, "--with-token").stderr
    assert _answers(url.removesuffix("/lab") + "/api/status") == 403
    signed = cli.ok("notebook", "open", notebook, "--with-token").strip()
    lab = requests.get(signed, timeout=10)
    assert lab.status_code == 200 and "JupyterLab" in lab.text
    assert cli.json("notebook", "open", notebook)["url"] == url
    # Jupyter's token signs anyone in: JSON output leaves it out unless asked for.
    assert "token" not in cli.json("notebook", "show", notebook)
    assert all("token" not in item for item in cli.json("notebook", "list")["data"])
    # --browser hands the browser named by $BROWSER a private page that sends it on to the
    # signed-in URL: the token is never in the browser's arguments.
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    cli.ok("notebook", "open", notebook, "--browser", env={"BROWSER": f"{browser} %s"})
    argument = opened.read_text().strip()
    assert argument.startswith("file://") and "token" not in argument
    page = Path(argument.removeprefix("file://"))
    assert page.stat().st_mode & 0o777 == 0o600
    assert html.escape(signed, quote=True) in page.read_text()
    page.unlink()

    # The lease: 2 h as created; prolonged to 5 h from now.
    lease = cli.json("notebook", "lease", notebook)
    assert lease["duration"] == 2 * HOUR_MS and lease["type"] == "TIMING"
    assert "stops at" in cli.ok("notebook", "lease", notebook)
    assert "now stops at" in cli.ok("notebook", "prolong", notebook, "--hours", "5")
    prolonged = cli.json("notebook", "lease", notebook)
    assert 5 * HOUR_MS <= prolonged["duration"] < 5 * HOUR_MS + 120_000
    assert prolonged["update_at"] >= lease["update_at"]

    flavors = cli.ok("notebook", "flavors")
    assert "test.notebook.small" in flavors and "test.notebook.other" in flavors
    switchable = cli.json("notebook", "flavors", "--for", notebook)["data"]
    assert [f["id"] for f in switchable] == ["test.notebook.other"]
    # A running notebook keeps its flavor; its description may change.
    locked = cli.fails("notebook", "update", notebook, "--flavor", "test.notebook.other")
    assert "ModelArts.6347" in locked and "stop it first" in locked
    cli.ok("notebook", "update", notebook, "--description", "changed while running")
    assert cli.json("notebook", "show", notebook)["description"] == "changed while running"

    assert "stopping" in cli.ok("notebook", "stop", notebook)
    cli.ok("notebook", "wait", notebook, "--status", "STOPPED", "--timeout", "60")
    stopped = cli.fails("notebook", "open", notebook)
    assert "is STOPPED, not RUNNING" in stopped and "start it first" in stopped
    assert "start it first" in cli.fails("notebook", "open", notebook, "--wait")
    assert "ModelArts.6327" in cli.fails("notebook", "prolong", notebook)
    assert "ModelArts.6327" in cli.fails("notebook", "create-image", notebook)
    assert _answers(url.removesuffix("/lab") + "/api/status") == 400

    renamed = cli.ok(
        "notebook", "update", notebook, "--flavor", "test.notebook.other", "--name", "cli-nb-2"
    )
    assert "cli-nb-2" in renamed and "STOPPED" in renamed
    shown_json = cli.json("notebook", "show", notebook)
    assert shown_json["flavor"] == "test.notebook.other" and shown_json["name"] == "cli-nb-2"

    assert "starting" in cli.ok("notebook", "start", notebook, "--duration-hours", "3")
    assert cli.run("notebook", "wait", notebook, "--timeout", "90").returncode == 0
    assert cli.json("notebook", "lease", notebook)["duration"] == 3 * HOUR_MS
    assert requests.get(signed, timeout=10).status_code == 200

    assert "deleting" in cli.ok("notebook", "delete", notebook)
    gone = cli.run("notebook", "wait", notebook, "--status", "DELETED", "--timeout", "60")
    assert gone.returncode == 0, gone.stderr
    missing = cli.fails("notebook", "show", notebook)
    assert "ModelArts.6309" in missing and notebook in missing


def test_storage_mounts_and_saving_as_an_image(cli: Cli, image_id: str, tmp_path: Path) -> None:
    data = tmp_path / "a.csv"
    data.write_text("x,y\n1,2\n")
    cli.ok("obs", "mb", "obs://cli-nb-data")
    cli.ok("obs", "cp", str(data), "obs://cli-nb-data/sets/a.csv")
    notebook = cli.json(
        "notebook",
        "create",
        "--name",
        "cli-mounts",
        "--flavor",
        "test.notebook.small",
        "--image-id",
        image_id,
    )["id"]
    assert cli.run("notebook", "wait", notebook, "--timeout", "90").returncode == 0

    added = cli.ok(
        "notebook",
        "mounts",
        "add",
        notebook,
        "--uri",
        "obs://cli-nb-data/sets/",
        "--path",
        "/data/sets/",
    )
    assert "mounting obs://cli-nb-data/sets/ at /data/sets/" in added
    mount = added.split("(mount ")[1].split(")")[0]

    def mounted() -> bool:
        rows = cli.json("notebook", "mounts", "list", notebook)["data"]
        return any(r["id"] == mount and r["status"] == "MOUNTED" for r in rows)

    until(mounted, "the mount")
    listed = cli.ok("notebook", "mounts", "list", notebook)
    assert "obs://cli-nb-data/sets/" in listed and "MOUNTED" in listed
    assert "/data/sets/" in cli.ok("notebook", "mounts", "show", notebook, mount)
    # Jupyter, asked through the platform, serves the bucket's file from the mount.
    signed = cli.ok("notebook", "open", notebook, "--with-token").strip()
    base, token = signed.split("/lab?token=")
    seen = requests.get(f"{base}/api/contents/data/sets/a.csv", params={"token": token}, timeout=10)
    assert seen.status_code == 200 and seen.json()["content"] == "x,y\n1,2\n"
    absent = cli.fails(
        "notebook",
        "mounts",
        "add",
        notebook,
        "--uri",
        "obs://cli-nb-data/none/",
        "--path",
        "/data/n/",
    )
    assert "ModelArts.6624" in absent
    assert "--path (mount_path)" in cli.fails(
        "notebook", "mounts", "add", notebook, "--uri", "obs://cli-nb-data/sets/"
    )
    assert "UNMOUNTING" in cli.ok("notebook", "mounts", "remove", notebook, mount)
    until(lambda: cli.json("notebook", "mounts", "list", notebook)["data"] == [], "the unmount")

    saving = cli.json("notebook", "create-image", notebook, "--name", "cli-saved", "--tag", "v1")
    assert saving["status"] == "CREATING" and saving["name"] == "cli-saved"
    until(lambda: cli.json("image", "show", saving["id"])["status"] == "ACTIVE", "the image")
    assert cli.run("notebook", "wait", notebook, "--timeout", "60").returncode == 0
    assert "cli-saved" in cli.ok("image", "list", "--type", "DEDICATED")
    cli.ok("notebook", "delete", notebook)
    cli.ok("notebook", "wait", notebook, "--status", "DELETED", "--timeout", "60")
    assert "deleted image" in cli.ok("image", "delete", saving["id"])


def test_notebook_from_a_body_file_and_wait_failing(
    cli: Cli, image_id: str, tmp_path: Path
) -> None:
    body = {
        "name": "cli-from-file",
        "description": "from a file",
        "flavor": "test.notebook.small",
        "image_id": image_id,
        # The reference's example writes the enumerations in lower case.
        "volume": {"category": "evs", "ownership": "managed", "capacity": 6},
        "lease": {"duration": 2 * HOUR_MS, "type": "timing"},
    }
    path = tmp_path / "notebook.yaml"
    path.write_text(yaml.safe_dump(body))
    # A flag beside the file wins over the file's field.
    created = cli.json("notebook", "create", "-f", str(path), "--name", "cli-flag-wins")
    notebook = created["id"]
    assert created["name"] == "cli-flag-wins" and created["volume"]["capacity"] == 6
    # Right after `create` it is on its way, not stopped: `open` says to wait, and
    # `open --wait` shows its progress, then prints the URL.
    early = cli.fails("notebook", "open", notebook)
    assert "not RUNNING yet: it is starting" in early and "--wait" in early, early
    assert "start it first" not in early
    opened = cli.run("notebook", "open", notebook, "--wait", "--timeout", "90")
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip().endswith(f"/notebook/{notebook}/lab")
    assert "notebook cli-flag-wins: CREATING" in opened.stderr
    assert "notebook cli-flag-wins: RUNNING" in opened.stderr and "--with-token" in opened.stderr
    assert cli.run("notebook", "wait", notebook, "--timeout", "90").returncode == 0
    assert cli.json("notebook", "lease", notebook)["duration"] == 2 * HOUR_MS

    # Waiting for a status the notebook does not reach ends at the timeout, exit 2.
    late = cli.fails(
        "notebook", "wait", notebook, "--status", "stopped", "--timeout", "0.5", code=2
    )
    assert "still RUNNING" in late

    # Jupyter dies under it: the notebook ends in ERROR and `wait` exits 1 saying why.
    processes = until(lambda: _jupyter(notebook), "the notebook's Jupyter process")
    for process in processes:
        process.kill()
    failed = cli.fails("notebook", "wait", notebook, "--status", "STOPPED", "--timeout", "60")
    assert "ended ERROR" in failed and "Jupyter ended" in failed
    assert cli.json("notebook", "show", notebook)["status"] == "ERROR"
    cli.ok("notebook", "delete", notebook)
    cli.ok("notebook", "wait", notebook, "--status", "DELETED", "--timeout", "60")


def test_notebook_refusals_are_said_in_words(cli: Cli, image_id: str, tmp_path: Path) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    for command in (
        ("show", unknown),
        ("start", unknown),
        ("wait", unknown),
        ("wait", unknown, "--status", "STOPPED"),
        ("mounts", "list", unknown),
        ("flavors", "--for", unknown),
    ):
        error = cli.fails("notebook", *command)
        assert "ModelArts.6309" in error and "does not exist" in error, command

    missing = cli.fails("notebook", "create", "--name", "no-image")
    assert "--flavor (flavor)" in missing and "--image-id (image_id)" in missing
    assert "--name" not in missing.split("missing")[1].split(":")[0]
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    assert "must hold a mapping" in cli.fails("notebook", "create", "-f", str(listing))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [nb\n")
    assert "neither YAML nor JSON" in cli.fails("notebook", "create", "-f", str(broken))
    # The API's range check of the lease reaches the user with its code.
    too_long = cli.fails(
        "notebook",
        "create",
        "--name",
        "too-long",
        "--flavor",
        "test.notebook.small",
        "--image-id",
        image_id,
        "--duration-hours",
        "100",
    )
    assert "ModelArts.6349" in too_long
    bad_flavor = cli.fails(
        "notebook", "create", "--name", "x", "--flavor", "no.such", "--image-id", image_id
    )
    assert "ModelArts." in bad_flavor and "no.such" in bad_flavor
    assert "nothing to change" in cli.fails("notebook", "update", unknown)
    assert "--status must be one of" in cli.fails("notebook", "wait", unknown, "--status", "UP")
    # Every wait has a limit, said in its help.
    assert "default 1800: half an hour" in cli.ok("notebook", "wait", "--help")
    assert "default 1800: half an hour" in cli.ok("notebook", "open", "--help")
    # Waiting for a deletion that already happened is not an error.
    cli.ok("notebook", "wait", unknown, "--status", "DELETED")
    # A notebook's list holds none of these attempts.
    names = [n["name"] for n in cli.json("notebook", "list")["data"]]
    assert not {"no-image", "too-long", "x"} & set(names)
    assert json.loads(cli.ok("-o", "json", "notebook", "list", "--name", "too-long"))["total"] == 0
