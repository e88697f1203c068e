"""The platform's image registry (the CNCF Distribution registry the server starts): a
project's members push and pull in its namespace with their own credentials, nobody
else does; an image registered from it carries its real size and architecture; a
training job names it as ModelArts code does (an SWR host) and the node pulls it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import (
    DeleteImageRequest,
    DeleteImageRequestBody,
    ImageRegRequest,
    RegisterImageRequest,
    ShowImageRequest,
)

from openarts.security.login_throttle import LIMIT
from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.images import base_image, require_tools, untag_registry
from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client, signed_call
from tests.e2e.test_training_images import BUCKET, body, serving
from tests.e2e.test_training_server import JOBS, wait_phase
from tests.sandbox.test_a_notebook_sees_only_its_own import second_project_member
from tests.storage.conftest import admin_s3, s3_client

pytestmark = pytest.mark.e2e

require_tools({"docker-registry": "docker-registry"})

SWR = "swr.cn-north-4.myhuaweicloud.com"
TRAIN = """
import argparse, os, pathlib, socket
parser = argparse.ArgumentParser()
parser.add_argument("--data_url")
parser.add_argument("--train_url")
args, _ = parser.parse_known_args()
number = int(pathlib.Path(args.data_url, "x.txt").read_text())
pathlib.Path(args.train_url, "y.txt").write_text(str(2 * number))
print("doubled", number, flush=True)
try:
    socket.create_connection(("127.0.0.1", int(os.environ["REGISTRY_PORT"])), timeout=2).close()
    print("registry reached", flush=True)
except OSError:
    print("registry out of reach", flush=True)
"""


@pytest.fixture(scope="module")
def image() -> str:
    return base_image()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, image: str) -> Iterator[ServerProcess]:
    with serving(tmp_path_factory.mktemp("registry") / "home", TRAIN) as process:
        try:
            yield process
        finally:
            untag_registry(f"127.0.0.1:{process.registry_port}")


@contextlib.contextmanager
def with_registry(home: Path, flavors: str) -> Iterator[ServerProcess]:
    """A server with these flavors whose registry answers; its pushes' tags in this
    machine's Podman are removed after."""
    home.mkdir(parents=True)
    (home / "flavors.yaml").write_text(flavors)
    process = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.5"}).start()
    try:
        _registry(process)
        yield process
    finally:
        process.close()
        untag_registry(f"127.0.0.1:{process.registry_port}")


def _registry(server: ServerProcess) -> str:
    deadline = time.monotonic() + 30
    while True:
        registry = httpx.get(f"{server.endpoint}/health").json()["registry"]
        if registry["enabled"]:
            return str(registry["address"])
        assert time.monotonic() < deadline, registry
        time.sleep(0.1)


def _cli(server: ServerProcess, keys: AkSk, project_id: str, *args: str) -> Any:
    """`openarts -o json ARGS` as a user with these keys would run it: its answer."""
    done = _cli_run(server, keys, project_id, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _cli_run(
    server: ServerProcess, keys: AkSk, project_id: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OPENARTS_ENDPOINT": server.endpoint,
        "OPENARTS_AK": keys.access_key,
        "OPENARTS_SK": keys.secret_key,
        "OPENARTS_PROJECT_ID": project_id,
        "HOME": str(server.home.parent),
    }
    return subprocess.run(
        [sys.executable, "-m", "openarts", "-o", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _podman(auth_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "REGISTRY_AUTH_FILE": str(auth_file)},
        timeout=300,
        check=False,
    )


def _login(
    auth_file: Path, registry: str, user: str, secret: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "login", "--tls-verify=false", "-u", user, "--password-stdin", registry],
        input=secret,
        capture_output=True,
        text=True,
        env={**os.environ, "REGISTRY_AUTH_FILE": str(auth_file)},
        timeout=60,
        check=False,
    )


def _admin(server: ServerProcess) -> tuple[AkSk, str]:
    row = server.credentials()
    return AkSk(row["Access Key Id"], row["Secret Access Key"]), row["Project Id"]


@pytest.fixture(scope="module")
def mallory(server: ServerProcess) -> tuple[AkSk, str]:
    """A member of another project ("elsewhere"), with keys and an authorization."""
    project_id, ak, sk = second_project_member(server)
    return AkSk(ak, sk), project_id


@pytest.fixture(scope="module")
def pushed(server: ServerProcess, image: str) -> str:
    """The base image pushed by the admin with `openarts image push --register`."""
    keys, project_id = _admin(server)
    done = _cli(server, keys, project_id, "image", "push", image, "python:1", "--register")
    registry = _registry(server)
    assert done["image"] == f"{registry}/default/python:1"
    registered = done["registered"]
    assert registered["size"] > 50_000  # KB: a Debian with Python is tens of MB
    assert registered["arch"] == "x86_64"  # as the reference's example answers
    assert registered["status"] == "ACTIVE"
    return str(done["image"])


def test_the_server_runs_the_registry_and_says_how_to_use_it(server: ServerProcess) -> None:
    registry = _registry(server)
    assert registry == f"127.0.0.1:{server.registry_port}"
    assert f"registry   : {registry}: `podman login --tls-verify=false {registry}`" in server.log()
    # It asks for a token from the API's token route, nothing else.
    answer = httpx.get(f"http://{registry}/v2/")
    assert answer.status_code == 401
    assert (
        f'realm="{server.endpoint}/openarts/registry/token"' in answer.headers["www-authenticate"]
    )
    kept = (server.home / "registry" / "keys" / "token-key.pem").stat().st_mode & 0o777
    assert kept == 0o600
    # The token route wants credentials, and says so as the token specification does.
    anonymous = httpx.get(
        f"{server.endpoint}/openarts/registry/token?scope=repository:default/x:pull"
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_a_member_pushes_and_pulls_and_another_project_does_neither(
    server: ServerProcess, pushed: str, mallory: tuple[AkSk, str], tmp_path: Path
) -> None:
    registry = _registry(server)
    keys, _ = mallory
    auth = tmp_path / "mallory-auth.json"
    assert _login(auth, registry, keys.access_key, keys.secret_key).returncode == 0
    # Not the admin's image ...
    pulled = _podman(auth, "pull", "--tls-verify=false", pushed)
    assert pulled.returncode != 0
    assert "denied" in pulled.stderr.lower() or "unauthorized" in pulled.stderr.lower()
    # ... nor a push into the admin's namespace ...
    _podman(auth, "tag", base_image(), f"{registry}/default/planted:1")
    planted = _podman(auth, "push", "--tls-verify=false", f"{registry}/default/planted:1")
    assert planted.returncode != 0, planted.stdout
    # ... while her own namespace takes it.
    _podman(auth, "tag", base_image(), f"{registry}/elsewhere/mine:1")
    mine = _podman(auth, "push", "--tls-verify=false", f"{registry}/elsewhere/mine:1")
    assert mine.returncode == 0, mine.stderr
    # The admin pulls their own with the CLI.
    admin_keys, project_id = _admin(server)
    done = _cli(server, admin_keys, project_id, "image", "pull", f"{SWR}/default/python:1")
    assert done["image"] == pushed


def test_a_wrong_password_is_refused_and_a_user_name_and_password_work(
    server: ServerProcess, tmp_path: Path
) -> None:
    registry = _registry(server)
    keys, _ = _admin(server)
    auth = tmp_path / "auth.json"
    wrong = _login(auth, registry, keys.access_key, "not-the-secret")
    assert wrong.returncode != 0 and "invalid username/password" in wrong.stderr
    password = (server.home / "admin-password").read_text().strip()
    assert _login(auth, registry, "admin", password).returncode == 0
    assert _login(auth, registry, "admin", password + "x").returncode != 0
    # SWR's form of an AK login, region@AK.
    assert _login(auth, registry, f"cn-north-4@{keys.access_key}", keys.secret_key).returncode == 0


def test_password_guessing_at_the_token_route_is_slowed(server: ServerProcess) -> None:
    route = f"{server.endpoint}/openarts/registry/token"
    for _ in range(LIMIT):
        wrong = httpx.get(route, auth=("guesser", "wrong"), timeout=30)
        assert wrong.status_code == 401, wrong.text
    slowed = httpx.get(route, auth=("guesser", "wrong"), timeout=30)
    assert slowed.status_code == 429, slowed.text
    assert slowed.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert 0 < int(slowed.headers["retry-after"]) <= 300
    # Not another name from the same client.
    keys, _ = _admin(server)
    assert httpx.get(route, auth=(keys.access_key, keys.secret_key), timeout=30).status_code == 200


def test_registering_checks_the_image_in_the_registry(
    server: ServerProcess, pushed: str, mallory: tuple[AkSk, str]
) -> None:
    keys, project_id = _admin(server)
    # A second tag of the same layers (the first is registered already: a tag is
    # registered once).
    _cli(server, keys, project_id, "image", "push", base_image(), "python:2")
    sdk = sdk_client(server.endpoint, keys.access_key, keys.secret_key, project_id)
    # As ModelArts code names it: an SWR host stands for the platform's registry.
    made = sdk.register_image(
        RegisterImageRequest(body=ImageRegRequest(swr_path=f"{SWR}/default/python:2"))
    )
    shown = sdk.show_image(ShowImageRequest(id=made.id))
    assert shown.size == made.size > 50_000 and shown.arch == "x86_64"
    assert "sha256:" in shown.status_message
    with pytest.raises(ClientRequestException) as missing:
        sdk.register_image(
            RegisterImageRequest(body=ImageRegRequest(swr_path=f"{SWR}/default/python:404"))
        )
    assert missing.value.status_code == 400 and missing.value.error_code == "ModelArts.6797"
    assert "has no default/python:404" in missing.value.error_msg
    # Another project cannot register (or learn of) the admin's image.
    other_keys, other_project = mallory
    other = sdk_client(server.endpoint, other_keys.access_key, other_keys.secret_key, other_project)
    with pytest.raises(ClientRequestException) as foreign:
        other.register_image(RegisterImageRequest(body=ImageRegRequest(swr_path=pushed)))
    assert foreign.value.error_code == "ModelArts.6797"
    assert "elsewhere" in foreign.value.error_msg


def test_a_training_job_runs_an_image_the_node_pulls_from_the_registry(
    server: ServerProcess, pushed: str, mallory: tuple[AkSk, str], tmp_path: Path
) -> None:
    # The node does not have it yet: the job's start pulls it with the node's login.
    subprocess.run(["podman", "rmi", "--force", pushed], capture_output=True, check=False)
    created = signed_call(server, "POST", JOBS, _job("from-registry", "python:1", server))
    assert created.status_code == 201, created.text
    job_id = created.json()["metadata"]["id"]
    done = wait_phase(server, job_id, "Completed", "Failed", within_s=180)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert admin_s3(server).get_object(Bucket=BUCKET, Key="out/y.txt")["Body"].read() == b"42"
    events = signed_call(server, "GET", f"{JOBS}/{job_id}/events").text
    assert "ImagePulling" in events and "ImagePulled" in events, events
    # Users' code cannot reach the registry (its sandbox's network has the object-storage
    # port only): nothing pushed from inside a job.
    log = signed_call(server, "GET", f"{JOBS}/{job_id}/tasks/worker-0/logs/preview")
    assert "registry out of reach" in log.json()["content"], log.text

    # Another project's job may not name it: refused at create, nothing made.
    keys, project_id = mallory
    hers = s3_client(server.obs_endpoint, keys.access_key, keys.secret_key)
    hers.create_bucket(Bucket="mallory-code")
    hers.put_object(Bucket="mallory-code", Key="code/train.py", Body=TRAIN.encode())
    theirs = SignedClient(server.endpoint, project_id, keys)
    job = body("not-mine", f"{SWR}/default/python:1", server)
    job["algorithm"].update(code_dir="/mallory-code/code/", inputs=[], outputs=[])
    refused = theirs.request("POST", JOBS, job)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error_code"] == "ModelArts.6797"
    # Nor by a short name, which Podman would match against the node's copy of it.
    job["algorithm"]["engine"]["image_url"] = "default/python:1"
    short = theirs.request("POST", JOBS, job)
    assert short.status_code == 400 and "names no registry host" in short.json()["error_msg"]
    listed = theirs.request("POST", "/v2/{project_id}/training-job-searches", {})
    assert listed.json()["total"] == 0


def test_the_registry_ends_with_the_server(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path / "home").start()
    try:
        registry = _registry(process)
        pid = int((process.home / "registry" / "registry.pid").read_text())
        process.process.kill()  # type: ignore[union-attr]  # kill -9: no stop runs
        process.process.wait()  # type: ignore[union-attr]
        deadline = time.monotonic() + 10
        while _alive(pid):
            assert time.monotonic() < deadline, "the registry outlived its server"
            time.sleep(0.05)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{registry}/v2/", timeout=1)
    finally:
        process.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; its reaper may be slow to collect it


def _job(name: str, image: str, server: ServerProcess) -> dict[str, Any]:
    """A job on the admin's ``image`` of the registry, named as ModelArts code names it;
    its code tells whether it reaches the registry."""
    job = body(name, f"{SWR}/default/{image}", server)
    job["algorithm"]["environments"]["REGISTRY_PORT"] = str(server.registry_port)
    return job


def _push_hello(server: ServerProcess, tmp_path: Path, target: str, *more: str) -> Any:
    """An image of its own content (one file over nothing: no system, no ma-user) pushed
    by the admin as ``target``; the CLI's answer."""
    keys, project_id = _admin(server)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "hello").write_text("hello\n")
    subprocess.run(["tar", "-C", str(tmp_path / "root"), "-cf", str(tmp_path / "r.tar"), "."])
    local = f"localhost/openarts-test/hello-{tmp_path.name.lower()}:1"
    imported = subprocess.run(["podman", "import", "-q", str(tmp_path / "r.tar"), local])
    assert imported.returncode == 0
    try:
        return _cli(server, keys, project_id, "image", "push", local, target, *more)
    finally:
        subprocess.run(["podman", "rmi", "--force", local], capture_output=True, check=False)


def test_a_tag_pushed_again_runs_as_pushed(server: ServerProcess, tmp_path: Path) -> None:
    keys, project_id = _admin(server)
    _cli(server, keys, project_id, "image", "push", base_image(), "moving:1")
    first = signed_call(server, "POST", JOBS, _job("moving-1", "moving:1", server))
    assert first.status_code == 201, first.text
    done = wait_phase(server, first.json()["metadata"]["id"], "Completed", "Failed", within_s=120)
    assert done["status"]["phase"] == "Completed", json.dumps(done["status"])
    # The same tag, now an image without ma-user: the node holds the old one, but the next
    # job runs what the tag names now (and is refused for it, saying why).
    _push_hello(server, tmp_path, "moving:1")
    second = signed_call(server, "POST", JOBS, _job("moving-2", "moving:1", server))
    assert second.status_code == 201, second.text
    job = wait_phase(server, second.json()["metadata"]["id"], "Failed", within_s=120)
    assert "no user with uid 1000 (ma-user)" in json.dumps(job["status"]), job["status"]


def test_deleting_with_force_removes_the_content_from_the_registry(
    server: ServerProcess, pushed: str, tmp_path: Path
) -> None:
    keys, project_id = _admin(server)
    sdk = sdk_client(server.endpoint, keys.access_key, keys.secret_key, project_id)
    done = _push_hello(server, tmp_path, "hello:1", "--register")
    image_id = done["registered"]["id"]

    # A tag sharing its content with another is refused with force, naming the other.
    same = _cli(server, keys, project_id, "image", "push", base_image(), "python:3", "--register")
    with pytest.raises(ClientRequestException) as refused:
        sdk.delete_image(
            DeleteImageRequest(
                id=same["registered"]["id"], body=DeleteImageRequestBody(is_force=True)
            )
        )
    assert refused.value.status_code == 403 and refused.value.error_code == "ModelArts.0108"
    said = refused.value.error_msg
    assert "shares its content with tag(s) 1" in said and "of default/python" in said, said

    sdk.delete_image(DeleteImageRequest(id=image_id, body=DeleteImageRequestBody(is_force=True)))
    # The content goes once the deletion has committed (just after the answer).
    deadline = time.monotonic() + 30
    while True:
        pulled = _cli_run(server, keys, project_id, "image", "pull", f"{SWR}/default/hello:1")
        if pulled.returncode != 0:
            break
        assert time.monotonic() < deadline, "the registry kept the deleted image"
        time.sleep(0.1)
    assert "manifest unknown" in pulled.stderr, pulled.stderr
