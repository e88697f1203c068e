"""An attacker's training job: a member of a second project, with no rights beyond it,
tries everything a task could once do on this platform, and every try fails.

What the job tries is written in its script below; it prints each try and its outcome
(the test's output shows them) and writes them to its output, which the test reads
back and checks one by one.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openarts.db.tables import Project
from openarts.services import buckets
from openarts.storage.base import one_chunk, read_all
from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.factories import add_authorized_member, add_project
from openarts.testing.server import ServerProcess
from tests.api.test_training import (
    FLAVORS,
    JOBS,
    STARTED,
    job_body,
    job_wrote,
    log_folders,
    wait_for,
)
from tests.conftest import Api, make_settings, start_api
from tests.e2e.test_services import until
from tests.storage.conftest import s3_client

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the per-project uid needs root")

ATTACK = r"""
import json, os, socket, sys

tries = {}

def attempt(name, action):
    try:
        outcome = "SUCCEEDED: " + repr(action())[:200]
    except Exception as error:
        outcome = "failed: " + type(error).__name__ + ": " + str(error)[:200]
    tries[name] = outcome
    print(f"{name}: {outcome}", flush=True)

targets = json.loads(os.environ["ATTACK_TARGETS"])
read = lambda path: open(path, "rb").read(64)

def write(path):
    with open(path, "ab") as out:
        out.write(b"x")
    return "written"

for name in ("secret_key", "database", "database_wal", "credentials", "admin_password"):
    attempt("read " + name, lambda p=targets[name]: read(p))
attempt("write the database", lambda: write(targets["database"]))
attempt("list the home", lambda: os.listdir(targets["home"]))
attempt("read another project's object", lambda: read(targets["foreign_object"]))
attempt("write another project's bucket", lambda: write(targets["foreign_object"] + ".mine"))
attempt("list the object store", lambda: os.listdir(targets["obs_root"]))
attempt("read another job's folder", lambda: os.listdir(targets["foreign_task"]))
attempt("read the server's environment", lambda: read(f"/proc/{targets['server_pid']}/environ"))
attempt("read another job's environment", lambda: read(f"/proc/{targets['victim_pid']}/environ"))
attempt("signal the server", lambda: os.kill(targets["server_pid"], 0))

def other_processes():
    # Its own: the sandbox's init (pid 1) and this script.
    seen = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]
    if not seen:
        raise LookupError("no process but its own")
    return seen

attempt("see other processes", other_processes)
attempt("connect to the database server",
        lambda: socket.create_connection(("127.0.0.1", 5432), 2).close())
attempt("connect to another project's replica",
        lambda: socket.create_connection(("127.0.0.1", targets["replica_port"]), 2).close())
attempt("become root", lambda: os.setuid(0))
status = open("/proc/self/status").read()
facts = {
    "uid": os.getuid(),
    "gid": os.getgid(),
    "home": os.environ.get("HOME"),
    "hostname": socket.gethostname(),
    "no_new_privs": [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")],
    "cap_eff": [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")],
    "ma_job_dir": os.environ["MA_JOB_DIR"],
    "cwd": os.getcwd(),
    "data": sorted(os.listdir(os.environ["data_url"])),
}
print("facts:", facts, flush=True)
with open(os.path.join(os.environ["train_url"], "tries.json"), "w") as out:
    json.dump({"tries": tries, "facts": facts}, out)
"""


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    settings = make_settings(home, database_url, reconcile_interval_s=0.5)
    async for started in start_api(settings):
        yield started


async def _bucket(api: Api, name: str, project_id: str) -> None:
    await api.platform.store.create_bucket(name)
    async with api.platform.db.session() as session, session.begin():
        await buckets.record_bucket(session, name=name, project_id=project_id)


async def test_a_second_projects_job_reaches_nothing_of_anyone_else(api: Api) -> None:
    settings = api.platform.settings
    # The victim: the admin's project, with an object of its own and a job running.
    await _bucket(api, "victim-data", api.project_id)
    await api.platform.store.write("victim-data", "secret.txt", one_chunk(b"victim's"))
    await api.platform.store.write(
        "victim-data",
        "code/train.py",
        one_chunk(f"import os, time\n{STARTED}\ntime.sleep(600)\n".encode()),
    )
    await api.platform.store.write("victim-data", "data/x.csv", one_chunk(b"1\n"))
    victim_body = job_body("victim")
    victim_body["algorithm"] = in_bucket(victim_body["algorithm"], "victim-data")
    made = await api.call("POST", JOBS, json=victim_body)
    assert made.status_code == 201, made.text
    victim_id = made.json()["metadata"]["id"]
    await job_wrote(api, victim_id)
    victim_pid = task_pid(victim_id)

    # The attacker: a member of a second project, authorized there and nowhere else.
    other = await add_project(api.platform.db, "elsewhere")
    user = await add_authorized_member(api.platform.db, api.platform.box, other, "mallory")
    await _bucket(api, "mallory-data", other)
    await api.platform.store.write("mallory-data", "code/train.py", one_chunk(ATTACK.encode()))
    await api.platform.store.write("mallory-data", "data/x.csv", one_chunk(b"1\n"))
    # Another project's replica, as far as the network goes: a server on loopback.
    listener = socket.create_server(("127.0.0.1", 0))
    replica_port = listener.getsockname()[1]
    targets = {
        "home": str(settings.home),
        "secret_key": str(settings.secret_key_file),
        "database": str(settings.home / "openarts.db"),
        "database_wal": str(settings.home / "openarts.db-wal"),
        "credentials": str(settings.credentials_file),
        "admin_password": str(settings.admin_password_file),
        "obs_root": str(settings.resolved_storage_root),
        "foreign_object": str(settings.resolved_storage_root / "victim-data" / "secret.txt"),
        "foreign_task": str(log_folders(api, victim_id)[0].parent.parent),
        "server_pid": os.getpid(),
        "victim_pid": victim_pid,
        "replica_port": replica_port,
    }
    body = job_body("attack")
    body["algorithm"] = in_bucket(body["algorithm"], "mallory-data")
    body["algorithm"]["environments"] = {"ATTACK_TARGETS": json.dumps(targets)}
    attacked = await api.call("POST", JOBS.format(project_id=other), json=body, keys=user.keys)
    assert attacked.status_code == 201, attacked.text
    attack_id = attacked.json()["metadata"]["id"]
    caller = _Caller(api, other, user.keys)
    job = await wait_for(caller, attack_id, "Completed", "Failed")  # type: ignore[arg-type]
    assert job["status"]["phase"] == "Completed", job["status"]
    listener.close()
    report = json.loads(await read_all(api.platform.store, "mallory-data", "out/attack/tries.json"))
    for name, outcome in report["tries"].items():
        print(f"{name}: {outcome}")
    succeeded = {n: o for n, o in report["tries"].items() if not o.startswith("failed")}
    assert succeeded == {}
    facts = report["facts"]
    assert facts["uid"] == 1000 and facts["gid"] == 100
    assert facts["home"] == "/home/ma-user"
    assert facts["hostname"] == f"modelarts-job-{attack_id}-worker-0"
    assert facts["no_new_privs"] == ["1"] and facts["cap_eff"] == ["0000000000000000"]
    assert facts["ma_job_dir"] == "/home/ma-user/modelarts/user-job-dir"
    assert facts["cwd"] == "/home/ma-user/modelarts/user-job-dir/code"
    assert facts["data"] == ["x.csv"]

    # Outside their views, the two projects' tasks are two unprivileged uids, and each
    # task's folder is closed to the other.
    uids = await _sandbox_uids(api, [api.project_id, other])
    victim_home = log_folders(api, victim_id)[0].parent.parent
    assert victim_home.stat().st_uid == uids[api.project_id] != 0
    assert uids[other] not in (0, uids[api.project_id])
    assert stat.S_IMODE(victim_home.stat().st_mode) == 0o700
    await api.call("POST", f"{JOBS}/{victim_id}/actions", json={"action_type": "terminate"})


class _Caller:
    """Calls as the attacker, in its project (what wait_for needs of an Api)."""

    def __init__(self, api: Api, project_id: str, keys: AkSk) -> None:
        self._api, self._project, self._keys = api, project_id, keys

    async def call(self, method: str, path: str, **kwargs: object) -> object:
        return await self._api.call(
            method, path.replace("{project_id}", self._project), keys=self._keys, **kwargs
        )


def in_bucket(algorithm: dict[str, object], bucket: str) -> dict[str, object]:
    text = json.dumps(algorithm).replace("/train-data/", f"/{bucket}/")
    changed: dict[str, object] = json.loads(text)
    return changed


def task_pid(job_id: str) -> int:
    """A process of the job's task (its environment names the job)."""
    wanted = f"MA_VJ_NAME=modelarts-job-{job_id}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as environ:
                if wanted in environ.read().split(b"\0"):
                    return int(name)
        except OSError:
            continue
    raise AssertionError(f"no process of job {job_id}")


async def _sandbox_uids(api: Api, project_ids: list[str]) -> dict[str, int]:
    async with api.platform.db.session() as session:
        return {p: (await session.get(Project, p)).sandbox_uid for p in project_ids}  # type: ignore[union-attr]


def attack_from_a_job(
    server: ServerProcess,
    victim_id: str,
    mallory_keys: tuple[str, str, str],
    *,
    flavor: str,
    extra_targets: dict[str, object] | None = None,
    extra_tries: str = "",
) -> tuple[str, dict[str, Any]]:
    """The attacker's job on a real ``server`` (another process, perhaps on Ray, perhaps
    not root), beside the admin's job ``victim_id`` that is running: mallory's (project,
    AK and SK from mallory_beside_a_victim) tries everything above plus ``extra_tries`` (lines of
    its script, run before it tries to become root), and every try fails. Returns the
    attacker's job id and its report."""
    project_id, ak, sk = mallory_keys
    mallory_s3 = s3_client(server.obs_endpoint, ak, sk)
    script = ATTACK.replace('attempt("become root"', f'{extra_tries}\nattempt("become root"')
    mallory_s3.put_object(Bucket="mallory-data", Key="code/train.py", Body=script.encode())
    mallory_s3.put_object(Bucket="mallory-data", Key="data/x.csv", Body=b"1\n")
    # Another project's replica, as far as the network goes: a server on loopback.
    replica = socket.create_server(("127.0.0.1", 0))
    targets = {
        "home": str(server.home),
        "secret_key": str(server.home / "secret.key"),
        "database": str(server.home / "openarts.db"),
        "database_wal": str(server.home / "openarts.db-wal"),
        "credentials": str(server.home / "credentials.csv"),
        "admin_password": str(server.home / "admin-password"),
        "obs_root": str(server.home / "obs"),
        "foreign_object": str(server.home / "obs" / "victim-data" / "secret.txt"),
        "foreign_task": str(server.home / "training" / victim_id),
        "server_pid": server.process.pid if server.process else 0,
        "victim_pid": task_pid(victim_id),
        "replica_port": replica.getsockname()[1],
        **(extra_targets or {}),
    }
    body = job_body("attack")
    body["algorithm"] = in_bucket(body["algorithm"], "mallory-data")
    body["algorithm"]["environments"] = {"ATTACK_TARGETS": json.dumps(targets)}
    body["spec"]["resource"]["flavor_id"] = flavor
    mallory = SignedClient(server.endpoint, project_id, AkSk(ak, sk))
    attack_id = str(mallory.call("POST", JOBS, body, expect=201)["metadata"]["id"])
    try:

        def ended() -> dict[str, Any] | None:
            job: dict[str, Any] = mallory.call("GET", f"{JOBS}/{attack_id}")
            return job if job["status"]["phase"] in ("Completed", "Failed") else None

        job = until(ended, f"the attacker's job {attack_id} to end")
        assert job["status"]["phase"] == "Completed", job["status"]
    finally:
        replica.close()
    report: dict[str, Any] = json.loads(
        mallory_s3.get_object(Bucket="mallory-data", Key="out/attack/tries.json")["Body"].read()
    )
    for name, outcome in report["tries"].items():
        print(f"{name}: {outcome}")
    assert {n: o for n, o in report["tries"].items() if not o.startswith("failed")} == {}
    facts = report["facts"]
    assert facts["uid"] == 1000 and facts["gid"] == 100
    assert facts["home"] == "/home/ma-user"
    assert facts["hostname"] == f"modelarts-job-{attack_id}-worker-0"
    assert facts["no_new_privs"] == ["1"] and facts["cap_eff"] == ["0000000000000000"]
    assert facts["cwd"] == "/home/ma-user/modelarts/user-job-dir/code"
    assert facts["data"] == ["x.csv"]
    return attack_id, report
