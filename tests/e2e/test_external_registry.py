"""An external registry in place of the embedded one (OPENARTS_REGISTRY=external): a
registry of another's with its own accounts (here Distribution with an htpasswd file,
as a team's Harbor or SWR would be). SWR hosts stand for it; the platform checks and
pulls with the account it is given, from a private auth file; projects still use only
their own namespaces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.images import base_image, require_tools
from openarts.testing.server import ServerProcess, free_port
from tests.e2e.test_registry import TRAIN
from tests.e2e.test_training_images import BUCKET, body, serving
from tests.e2e.test_training_server import JOBS, wait_phase
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

require_tools({"docker-registry": "docker-registry"})

SWR = "swr.cn-north-4.myhuaweicloud.com"
USER, PASSWORD = "team", "their-own-secret"


def _bcrypt(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # the system's libcrypt makes bcrypt, as htpasswd files hold it

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another's registry (Basic authentication by its own accounts), its address."""
    folder = tmp_path_factory.mktemp("external-registry")
    (folder / "htpasswd").write_text(f"{USER}:{_bcrypt(PASSWORD)}\n")
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(folder / "data")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test"},
        "auth": {"htpasswd": {"realm": "theirs", "path": str(folder / "htpasswd")}},
    }
    (folder / "config.yml").write_text(json.dumps(config))
    with (folder / "log").open("wb") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(folder / "config.yml")], stdout=log, stderr=log
        )
    try:
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://{address}/v2/", timeout=1).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (folder / "log").read_text()
            time.sleep(0.05)
        # The team pushes with its own account there, as it would to its Harbor.
        auth = folder / "auth.json"
        env = {**os.environ, "REGISTRY_AUTH_FILE": str(auth)}
        login = ["podman", "login", "--tls-verify=false", "-u", USER, "--password-stdin", address]
        subprocess.run(login, input=PASSWORD, text=True, env=env, check=True, capture_output=True)
        subprocess.run(["podman", "tag", base_image(), f"{address}/default/python:ext"], check=True)
        pushed = subprocess.run(
            ["podman", "push", "--tls-verify=false", f"{address}/default/python:ext"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert pushed.returncode == 0, pushed.stderr
        subprocess.run(["podman", "rmi", f"{address}/default/python:ext"], capture_output=True)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, registry: str) -> Iterator[ServerProcess]:
    with serving(
        tmp_path_factory.mktemp("external") / "home",
        TRAIN,
        OPENARTS_REGISTRY="external",
        OPENARTS_REGISTRY_URL=f"http://{registry}",
        OPENARTS_REGISTRY_USER=USER,
        OPENARTS_REGISTRY_PASSWORD=PASSWORD,
    ) as process:
        yield process


def _api(server: ServerProcess) -> SignedClient:
    row = server.credentials()
    keys = AkSk(row["Access Key Id"], row["Secret Access Key"])
    return SignedClient(server.endpoint, row["Project Id"], keys)


def test_the_server_says_it_uses_the_external_registry(
    server: ServerProcess, registry: str
) -> None:
    said = httpx.get(f"{server.endpoint}/health").json()["registry"]
    assert said["enabled"] is True and said["kind"] == "external"
    assert said["address"] == registry
    assert f"registry   : {registry} (external" in server.log()
    # No process of the platform's own, and the account is in a private file only.
    assert not (server.home / "registry" / "registry.pid").exists()
    kept = server.home / "registry" / "external-auth.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in server.log()


def test_registering_checks_the_image_with_the_account(
    server: ServerProcess, registry: str
) -> None:
    api = _api(server)
    made = api.request("POST", "/v1/{project_id}/images", {"swr_path": f"{SWR}/default/python:ext"})
    assert made.status_code == 200, made.text
    assert made.json()["size"] > 50_000 and made.json()["arch"] == "x86_64"
    missing = api.request(
        "POST", "/v1/{project_id}/images", {"swr_path": f"{registry}/default/python:gone"}
    )
    assert missing.status_code == 400 and missing.json()["error_code"] == "ModelArts.6797"
    # A namespace that is not the project's is not this project's to use.
    other = api.request(
        "POST", "/v1/{project_id}/images", {"swr_path": f"{registry}/elsewhere/python:ext"}
    )
    assert other.status_code == 400 and "default/" in other.json()["error_msg"]


def test_a_job_runs_an_image_the_node_pulls_with_the_account(
    server: ServerProcess, registry: str
) -> None:
    job = body("external", f"{SWR}/default/python:ext", server)
    job["algorithm"]["environments"]["REGISTRY_PORT"] = registry.rsplit(":", 1)[1]
    created = _api(server).request("POST", JOBS, job)
    assert created.status_code == 201, created.text
    job_id = created.json()["metadata"]["id"]
    try:
        done = wait_phase(server, job_id, "Completed", "Failed", within_s=180)
        assert done["status"]["phase"] == "Completed", done["status"]
        output = admin_s3(server).get_object(Bucket=BUCKET, Key="out/y.txt")["Body"].read()
        assert output == b"42"
        # The account is the platform's: users' code never reaches the registry.
        log = _api(server).request("GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/preview")
        assert "registry out of reach" in log.json()["content"], log.text
    finally:
        subprocess.run(["podman", "rmi", f"{registry}/default/python:ext"], capture_output=True)


def test_an_external_registry_needs_its_url(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPENARTS_HOME": str(tmp_path / "home"),
        "OPENARTS_PORT": str(free_port()),
        "OPENARTS_REGISTRY": "external",
    }
    ran = subprocess.run(
        [sys.executable, "-m", "openarts", "server"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0
    assert "OPENARTS_REGISTRY_URL" in ran.stderr + ran.stdout
