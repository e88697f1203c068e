"""An attacker's notebook: a member of a second project opens an instance and, from a
kernel and from a terminal, tries what a notebook once could on this platform. Every try
fails; the test prints each try and its outcome."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError
from huaweicloudsdkmodelarts.v1 import StopNotebookRequest

from openarts.ids import now_ms
from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client
from tests.e2e.test_sdk_notebooks import FLAVORS, builtin_image, create, run_code, wait_status
from tests.storage.conftest import admin_s3, s3_client

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="the per-project uid needs root"),
]

ATTACK = r"""
import json, os, socket
targets = json.loads({targets!r})
tries = {{}}
def attempt(name, action):
    try:
        tries[name] = "SUCCEEDED: " + repr(action())[:200]
    except Exception as error:
        tries[name] = "failed: " + type(error).__name__ + ": " + str(error)[:160]
read = lambda path: open(path, "rb").read(64)
for name in ("secret_key", "database", "credentials", "admin_password"):
    attempt("read " + name, lambda p=targets[name]: read(p))
def files_in_home():
    # The home's path may show as empty folders leading to the instance's own environment
    # (bound where it is); no file of the home's is there.
    found = [os.path.join(d, f) for d, _, names in os.walk(targets["home"]) for f in names
             if not d.startswith(os.environ["VIRTUAL_ENV"])]
    if not found:
        raise LookupError("no file of the server's home")
    return found
attempt("find a file of the home", files_in_home)
attempt("read a bucket's object by path", lambda: read(targets["object"]))
attempt("read the server's environment", lambda: read(f"/proc/{{targets['server_pid']}}/environ"))
attempt("signal the server", lambda: os.kill(targets["server_pid"], 0))
def connect(port):
    socket.create_connection(("127.0.0.1", port), 2).close()
for name in ("api", "database_server", "replica"):
    attempt("connect to the " + name, lambda port=targets[name + "_port"]: connect(port))
attempt("become root", lambda: os.setuid(0))
# The object-storage endpoint is reached with the instance's own temporary credential
# (from its variables): its project's buckets only.
import boto3
s3 = boto3.client("s3")
attempt("read another project's object through the endpoint",
        lambda: s3.get_object(Bucket="victim-data", Key="secret.txt")["Body"].read())
attempt("write another project's bucket through the endpoint",
        lambda: s3.put_object(Bucket="victim-data", Key="planted", Body=b"x"))
s3.put_object(Bucket="mallory-data", Key="from-the-kernel", Body=b"mine")
back = s3.get_object(Bucket="mallory-data", Key="from-the-kernel")["Body"].read().decode()
own = {{"buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
       "read_back": back,
       "access_key": os.environ["AWS_ACCESS_KEY_ID"],
       "secret_key": os.environ["AWS_SECRET_ACCESS_KEY"]}}
init = open("/proc/1/environ", "rb").read().decode(errors="replace")
print(json.dumps({{"tries": tries, "uid": os.getuid(), "home": os.environ.get("HOME"),
                  "own": own,
                  "secret_seen": "OPENARTS_ADMIN_SK" in init + str(os.environ)}}))
"""


@pytest.fixture
def server(tmp_path: Path) -> Any:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {
        "OPENARTS_RECONCILE_INTERVAL_S": "0.5",
        # A secret in the server's own environment, as a scripted set-up has.
        "OPENARTS_ADMIN_SK": "server-side-secret-key-0123456789",
        "OPENARTS_ADMIN_AK": "SERVERSIDEADMINAK0001",
    }
    process = ServerProcess(home, env=env).start()
    try:
        yield process
    finally:
        process.close()


def second_project_member(server: ServerProcess) -> tuple[str, str, str]:
    """A project of its own and a member with keys and an authorization there."""

    def cli(*args: str) -> str:
        done = server.cli(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    project_id = cli("projects", "create", "elsewhere").split(": ")[-1].strip()
    cli("users", "create", "mallory", "--project", "elsewhere")
    keys = cli("credentials", "create", "--user", "mallory")
    ak = keys.split("access key: ")[1].split()[0]
    sk = keys.split("secret key: ")[1].split()[0]
    with sqlite3.connect(server.home / "openarts.db") as db:
        (user_id,) = db.execute("SELECT id FROM users WHERE name = 'mallory'").fetchone()
        db.execute(
            "INSERT INTO authorizations (project_id, user_id, user_name, type, content, "
            "secret_encrypted, created_at) VALUES (?, ?, 'mallory', 'agency', "
            "'ma_agency_mallory', NULL, ?)",
            (project_id, user_id, now_ms()),
        )
    return project_id, ak, sk


def mallory_beside_a_victim(server: ServerProcess) -> tuple[str, str, str]:
    """The second project's member (project, AK, SK), with a bucket of hers
    (mallory-data), beside the admin's bucket victim-data holding secret.txt."""
    project_id, ak, sk = second_project_member(server)
    admin = admin_s3(server)
    admin.create_bucket(Bucket="victim-data")
    admin.put_object(Bucket="victim-data", Key="secret.txt", Body=b"the admin's")
    s3_client(server.obs_endpoint, ak, sk).create_bucket(Bucket="mallory-data")
    return project_id, ak, sk


def test_a_second_projects_notebook_reaches_nothing_from_a_kernel_or_a_terminal(
    server: ServerProcess,
) -> None:
    attack_from_a_notebook(server)


def attack_from_a_notebook(server: ServerProcess) -> None:
    """The attack, on ``server`` (the local backend here; tests/ray runs it on a node)."""
    project_id, ak, sk = mallory_beside_a_victim(server)
    mallory = sdk_client(server.endpoint, ak, sk, project_id)
    notebook = create(mallory, "attack", builtin_image(mallory))
    running = wait_status(mallory, notebook, "RUNNING")
    base, token = running.url.removesuffix("/lab"), running.token
    replica = socket.create_server(("127.0.0.1", 0))
    server_pid = server.process.pid if server.process else 0
    targets = {
        "home": str(server.home),
        "secret_key": str(server.home / "secret.key"),
        "database": str(server.home / "openarts.db"),
        "credentials": str(server.home / "credentials.csv"),
        "admin_password": str(server.home / "admin-password"),
        "object": str(server.home / "obs"),
        "server_pid": server_pid,
        "api_port": server.port,
        "obs_port": server.obs_port,
        "database_server_port": 5432,
        "replica_port": replica.getsockname()[1],
    }
    try:
        printed = asyncio.run(run_code(base, token, ATTACK.format(targets=json.dumps(targets))))
        report = json.loads(printed)
        for name, outcome in report["tries"].items():
            print(f"kernel: {name}: {outcome}")
        assert {n: o for n, o in report["tries"].items() if not o.startswith("failed")} == {}
        assert report["uid"] == 1000 and report["home"] == "/home/ma-user"
        assert report["secret_seen"] is False
        own = report["own"]
        assert own["buckets"] == ["mallory-data"] and own["read_back"] == "mine", own
        assert own["access_key"] not in (ak, server.credentials()["Access Key Id"])

        said = asyncio.run(
            in_terminal(base, token, f"id -u; id -un; cat {targets['secret_key']}; whoami")
        )
        print("terminal:", said)
        lines = [line.strip() for line in said.splitlines()]
        assert "1000" in lines and lines.count("ma-user") == 2  # id -un, whoami
        assert "0" not in lines and "root" not in lines
        assert "No such file or directory" in said

        # Its credential ends with the instance.
        mallory.stop_notebook(StopNotebookRequest(id=notebook))
        wait_status(mallory, notebook, "STOPPED")
        with pytest.raises(ClientError, match="InvalidAccessKeyId"):
            s3_client(server.obs_endpoint, own["access_key"], own["secret_key"]).list_buckets()
    finally:
        replica.close()


async def in_terminal(base: str, token: str, line: str) -> str:
    """Open a Jupyter terminal through the proxy, type ``line``, return what it shows."""
    headers = {"Authorization": f"token {token}"}
    async with aiohttp.ClientSession(headers=headers) as client:
        async with client.post(f"{base}/api/terminals") as made:
            assert made.status == 200, await made.text()
            name = (await made.json())["name"]
        url = base.replace("http://", "ws://") + f"/terminals/websocket/{name}"
        shown: list[str] = []
        async with client.ws_connect(url) as ws:
            await ws.send_str(json.dumps(["stdin", f"{line}; echo DONE-$((40+2))\r"]))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "DONE-42" not in "".join(shown):
                message = await ws.receive(timeout=30)
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                kind, *rest = json.loads(message.data)
                if kind == "stdout":
                    shown.append(rest[0])
        async with client.delete(f"{base}/api/terminals/{name}") as gone:
            assert gone.status == 204
        return "".join(shown)
