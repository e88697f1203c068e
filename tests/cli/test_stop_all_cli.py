"""`openarts stop --all` against a real server: a notebook, a service and training jobs
running in two projects are listed, left alone when the answer is no, and stopped when
it is yes (or --yes), in each project the caller's sign-in reaches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.server import ServerProcess
from tests.cli.conftest import ADMIN_PASSWORD, Cli, until

pytestmark = pytest.mark.e2e


FLAVORS = """
flavors:
  - name: test.stop.tiny
    vcpus: 0.25
    memory_gib: 0.5
    uses: [training, notebook, inference]
"""
SLOW = "import time\nprint('holding on', flush=True)\ntime.sleep(300)\n"
# A model server that answers every request (its health check too).
ECHO_SERVER = """\
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _answer(self):
        data = b'{"status": "OK"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("cli-stop") / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {"OPENARTS_RECONCILE_INTERVAL_S": "0.5", "OPENARTS_ADMIN_PASSWORD": ADMIN_PASSWORD}
    process = ServerProcess(home, env=env).start()
    try:
        yield process
    finally:
        process.close()


def _authorize(server: ServerProcess, project_id: str) -> None:
    """Let the new project's users run work (as the server does for its first project)."""
    row = server.credentials()
    keys = AkSk(row["Access Key Id"], row["Secret Access Key"])
    client = SignedClient(server.endpoint, project_id, keys)
    agency = client.call("POST", "/v2/{project_id}/agency", {})["agency_name"]
    body = {"type": "agency", "content": agency, "user_id": "all"}
    client.call("POST", "/v2/{project_id}/authorizations", body)


def _job(cli: Cli, name: str, bucket: str, *where: str) -> str:
    created = cli.json(
        *where,
        "job",
        "create",
        "--name",
        name,
        "--code-dir",
        f"/{bucket}/code/",
        "--boot-file",
        f"/{bucket}/code/slow.py",
        "--flavor",
        "test.stop.tiny",
    )
    return str(created["metadata"]["id"])


def _service(cli: Cli, tmp_path: Path) -> str:
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "serve.py").write_text(ECHO_SERVER)
    (folder / "config.json").write_text(
        json.dumps({"model_algorithm": "predict_analysis", "model_type": "Image"})
    )
    cli.ok("obs", "cp", "-r", str(folder), "obs://cli-stop/echo/")
    body = tmp_path / "model.yaml"
    body.write_text(
        yaml.safe_dump(
            {
                "model_name": "cli-echo",
                "model_version": "1.0.0",
                "model_type": "Image",
                "source_location": "obs://cli-stop/echo/",
                "cmd": "exec python serve.py",
            }
        )
    )
    model = cli.json("model", "create", "-f", str(body), "--wait", "--timeout", "120")
    created = cli.json(
        "service",
        "create",
        "--name",
        "cli-stop-svc",
        "--model-id",
        model["model_id"],
        "--flavor",
        "test.stop.tiny",
    )
    return str(created["service_id"])


def test_stop_all_lists_asks_and_stops_in_every_project(cli: Cli, tmp_path: Path) -> None:
    code = tmp_path / "slow.py"
    code.write_text(SLOW)
    other = cli.json("projects", "create", "cli-other")["id"]
    _authorize(cli.server, other)
    # Buckets belong to a project: the other project's job reads its code from its own.
    for bucket, owner in (("cli-stop", "default"), ("cli-stop-there", other)):
        cli.ok("obs", "mb", f"obs://{bucket}", "--project", owner)
        cli.ok("obs", "cp", str(code), f"obs://{bucket}/code/slow.py")
    image = next(
        i["id"]
        for i in cli.json("image", "list", "--type", "BUILD_IN")["data"]
        if i["name"].startswith("python")
    )

    here = _job(cli, "cli-stop-here", "cli-stop")
    there = _job(cli, "cli-stop-there", "cli-stop-there", "--project-id", other)
    notebook = cli.json(
        "notebook",
        "create",
        "--name",
        "cli-stop-nb",
        "--flavor",
        "test.stop.tiny",
        "--image-id",
        image,
    )["id"]
    service = _service(cli, tmp_path)

    def running(job_id: str, *where: str) -> bool:
        return bool(cli.json(*where, "job", "show", job_id)["status"]["phase"] == "Running")

    until(lambda: running(here) and running(there, "--project-id", other), "the jobs running")
    cli.ok("service", "wait", service, "--timeout", "120")

    # Listed with where each runs, and left alone when the answer is no (or none comes).
    refused = cli.run("stop", "--all", stdin="n\n")
    assert refused.returncode == 1 and "nothing stopped" in refused.stderr
    listing = refused.stdout
    for shown in (here, there, notebook, service, "cli-other", "default", "training job"):
        assert shown in listing, (shown, listing)
    assert "Stop these 4?" in refused.stderr
    assert "nothing stopped" in cli.fails("stop", "--all")
    assert cli.json("job", "show", here)["status"]["phase"] == "Running"
    assert "--yes" in cli.fails("-o", "json", "stop", "--all")
    assert "--all" in cli.fails("stop")

    # Yes: each is stopped. The sign-in here is a user's token (good in one project), so
    # the other project's are reached with a token rescoped to it.
    signed_in = {
        "OPENARTS_ENDPOINT": cli.server.endpoint,
        "OPENARTS_PROJECT": "default",
        "OPENARTS_USER": "admin",
        "OPENARTS_PASSWORD": ADMIN_PASSWORD,
    }
    done = cli.run("stop", "--all", stdin="y\n", env=signed_in)
    assert done.returncode == 0, done.stderr
    assert f"terminating training job {there} (cli-stop-there) in project cli-other" in done.stdout
    assert f"terminating training job {here} (cli-stop-here) in project default" in done.stdout
    assert f"stopping notebook {notebook} (cli-stop-nb)" in done.stdout
    assert f"stopping service {service} (cli-stop-svc)" in done.stdout

    until(
        lambda: cli.json("job", "show", here)["status"]["phase"] == "Terminated", "job terminated"
    )
    until(
        lambda: (
            cli.json("--project-id", other, "job", "show", there)["status"]["phase"] == "Terminated"
        ),
        "the other project's job terminated",
    )
    cli.ok("notebook", "wait", notebook, "--status", "STOPPED", "--timeout", "90")
    cli.ok("service", "wait", service, "--for", "stopped", "--timeout", "90")

    # Nothing runs any more: said, and nothing asked.
    again = cli.json("stop", "--all", "--yes")
    assert again == {"stopped": []}
    assert "nothing runs" in cli.ok("stop", "--all")
