"""The server run by an ordinary user (a laptop): its tasks are sandboxed by user
namespaces alone (each runs as ma-user inside and as the server's uid outside), and the
attacker's notebook and job reach nothing of the server's or of anyone else's.

The test is root (CI), so it makes the ordinary user: a uid of no account, in a mount
namespace of its own where the Python install under /root (closed to others) is bound
back; nothing on the machine changes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openarts.testing.server import ServerProcess
from tests.api.test_training import JOBS, job_body
from tests.e2e.conftest import signed_call
from tests.e2e.test_sdk_notebooks import FLAVORS
from tests.e2e.test_services import until
from tests.sandbox.test_a_job_sees_only_its_own import attack_from_a_job, in_bucket, task_pid
from tests.sandbox.test_a_notebook_sees_only_its_own import (
    attack_from_a_notebook,
    mallory_beside_a_victim,
)
from tests.storage.conftest import admin_s3

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="making an ordinary user needs root"),
    pytest.mark.skipif(not shutil.which("unshare"), reason="util-linux's unshare is missing"),
]

# A uid no account has, well below the per-project uids (domain/sandbox_view.py).
ORDINARY_UID = 4242

# The victim's job: runs until it is terminated.
VICTIM = "import time\nprint('running', flush=True)\ntime.sleep(600)\n"

# Run as root in a mount namespace of its own: the install's closed ancestor is covered
# by an open, empty one and the install bound back into it; then the command runs as
# the ordinary uid, with no groups and no capabilities left.
AS_ORDINARY_USER = """
set -e
closed="$1" install="$2" kept="$3" uid="$4" home="$5"
shift 5
if [ -n "$closed" ]; then
    mount --bind "$install" "$kept"
    mount -t tmpfs -o mode=0755 tmpfs "$closed"
    mkdir -p "$install"
    mount --bind "$kept" "$install"
fi
exec setpriv --reuid "$uid" --regid "$uid" --clear-groups --inh-caps=-all \\
    env HOME="$home" "$@"
"""


def _closed_ancestor(path: Path) -> Path | None:
    """The outermost folder above ``path`` that others may not enter."""
    for folder in reversed(path.parents):
        if not folder.stat().st_mode & 0o001:
            return folder
    return None


@pytest.fixture
def ordinary_server() -> Iterator[ServerProcess]:
    # Not under pytest's tmp_path: its folder is closed to all but root.
    top = Path(tempfile.mkdtemp(prefix="openarts-ordinary-"))
    top.chmod(0o755)
    kept = top / "kept"
    home = top / "home"
    for folder in (kept, home):
        folder.mkdir()
    os.chown(home, ORDINARY_UID, ORDINARY_UID)
    (home / "flavors.yaml").write_text(FLAVORS)
    install = Path(sys.base_prefix).resolve()
    closed = _closed_ancestor(install)
    prefix = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        AS_ORDINARY_USER,
        "as-ordinary-user",
        str(closed or ""),
        str(install),
        str(kept),
        str(ORDINARY_UID),
        str(top),
    ]
    env = {
        "OPENARTS_RECONCILE_INTERVAL_S": "0.5",
        "OPENARTS_ADMIN_SK": "server-side-secret-key-0123456789",
        "OPENARTS_ADMIN_AK": "SERVERSIDEADMINAK0001",
    }
    process = ServerProcess(home, env=env, prefix=prefix)
    try:
        yield process.start(timeout_s=60)
    finally:
        process.close()
        shutil.rmtree(top, ignore_errors=True)


def test_the_server_runs_as_an_ordinary_user_with_the_sandbox_in_force(
    ordinary_server: ServerProcess,
) -> None:
    assert ordinary_server.process is not None
    server_uid = int(
        Path(f"/proc/{ordinary_server.process.pid}/status").read_text().split("Uid:")[1].split()[1]
    )
    assert server_uid == ORDINARY_UID
    said = httpx.get(f"{ordinary_server.endpoint}/health", timeout=10).json()
    print("health:", said)
    assert said["sandbox"]["enabled"] is True
    assert "user namespaces; the server is not root" in said["sandbox"]["summary"]


def test_an_ordinary_users_server_keeps_a_second_projects_notebook_from_everything(
    ordinary_server: ServerProcess,
) -> None:
    attack_from_a_notebook(ordinary_server)


def test_an_ordinary_users_server_keeps_a_second_projects_job_from_everything(
    ordinary_server: ServerProcess,
) -> None:
    server = ordinary_server
    mallory = mallory_beside_a_victim(server)
    # The victim: a job of the admin's project, running until it is terminated.
    admin = admin_s3(server)
    admin.put_object(Bucket="victim-data", Key="code/train.py", Body=VICTIM.encode())
    admin.put_object(Bucket="victim-data", Key="data/x.csv", Body=b"1\n")
    body = job_body("victim")
    body["algorithm"] = in_bucket(body["algorithm"], "victim-data")
    body["spec"]["resource"]["flavor_id"] = "test.training.small"
    made = signed_call(server, "POST", JOBS, body)
    assert made.status_code == 201, made.text
    victim_id = made.json()["metadata"]["id"]
    until(lambda: _has_task(victim_id), f"the victim's job {victim_id} to run")
    try:
        attack_from_a_job(server, victim_id, mallory, flavor="test.training.small")
        # Outside its view, a task is the server's own uid (ma-user, 1000, inside).
        assert _uids(task_pid(victim_id)) == [ORDINARY_UID] * 4
    finally:
        signed_call(server, "POST", f"{JOBS}/{victim_id}/actions", {"action_type": "terminate"})


def _uids(pid: int) -> list[int]:
    """A process's real, effective, saved and file-system uids, as the host sees them."""
    status = Path(f"/proc/{pid}/status").read_text()
    return [int(uid) for uid in status.split("Uid:")[1].splitlines()[0].split()]


def _has_task(job_id: str) -> bool:
    try:
        task_pid(job_id)
    except AssertionError:
        return False
    return True


def test_an_ordinary_users_server_fails_a_gang_saying_it_needs_root(
    ordinary_server: ServerProcess,
) -> None:
    server = ordinary_server
    admin = admin_s3(server)
    admin.create_bucket(Bucket="gang-data")
    admin.put_object(Bucket="gang-data", Key="code/train.py", Body=b"print('never')\n")
    admin.put_object(Bucket="gang-data", Key="data/x.csv", Body=b"1\n")
    body = job_body("gang")
    body["algorithm"] = in_bucket(body["algorithm"], "gang-data")
    body["spec"]["resource"].update(flavor_id="test.training.small", node_count=2)
    made = signed_call(server, "POST", JOBS, body)
    assert made.status_code == 201, made.text
    job_id = made.json()["metadata"]["id"]

    def ended() -> dict[str, Any] | None:
        shown = signed_call(server, "GET", f"{JOBS}/{job_id}")
        job: dict[str, Any] = shown.json()
        return job if job["status"]["phase"] in ("Completed", "Failed") else None

    job = until(ended, f"the gang {job_id} to end")
    print("status:", job["status"])
    assert job["status"]["phase"] == "Failed"
    assert "needs the server to run as root" in str(job["status"])
