"""`openarts server --workers N`: several processes answer on the same ports over
PostgreSQL and one leads the loops, woken by what any of them commits; SQLite, which
takes one writer at a time, refuses more than one worker with the reason."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
import requests

from openarts.testing.server import ServerProcess
from tests.e2e.conftest import signed_call
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

FLAVORS = """
flavors:
  - name: test.cpu.small
    vcpus: 0.25
    memory_gib: 0.5
    uses: [training]
"""
JOBS = "/v2/{project_id}/training-jobs"


def home_for(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "flavors.yaml").write_text(FLAVORS)
    return folder


def test_several_workers_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    server = ServerProcess(home_for(tmp_path), env={"OPENARTS_WORKERS": "2"})
    with pytest.raises(RuntimeError, match="several workers need PostgreSQL"):
        server.start()


def test_two_workers_serve_and_one_leads_the_loops(tmp_path: Path, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several workers need PostgreSQL (the test above)")
    env = {
        "OPENARTS_WORKERS": "2",
        "OPENARTS_DATABASE_URL": database_url,
        # Passes come only when something wakes them: a job another worker accepted runs
        # soon only if its commit reached the leader.
        "OPENARTS_RECONCILE_INTERVAL_S": "300",
    }
    server = ServerProcess(home_for(tmp_path), env=env).start(timeout_s=60)
    try:
        assert server.process is not None
        children = psutil.Process(server.process.pid).children()
        # (Beside them, multiprocessing's resource tracker.)
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 2, [c.cmdline() for c in children]
        s3 = admin_s3(server)
        s3.create_bucket(Bucket="workers")
        s3.put_object(Bucket="workers", Key="code/train.py", Body=b"print('ran')\n")
        ids = []
        # A connection each: the two workers take turns at accepting them.
        for n in range(8):
            answer = signed_call(
                server,
                "POST",
                JOBS,
                {
                    "kind": "job",
                    "metadata": {"name": f"spread-{n}"},
                    "algorithm": {
                        "code_dir": "/workers/code/",
                        "boot_file": "/workers/code/train.py",
                    },
                    "spec": {"resource": {"flavor_id": "test.cpu.small", "node_count": 1}},
                },
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["metadata"]["id"])
        deadline = time.monotonic() + 90
        phases: dict[str, str] = {}
        while time.monotonic() < deadline:
            phases = {
                job_id: signed_call(server, "GET", f"{JOBS}/{job_id}").json()["status"]["phase"]
                for job_id in ids
            }
            if set(phases.values()) == {"Completed"}:
                break
            time.sleep(0.5)
        assert set(phases.values()) == {"Completed"}, phases
        health = requests.get(f"{server.endpoint}/health", timeout=5)
        assert health.status_code == 200
        if Path("/usr/bin/docker-registry").exists():
            # The first process runs the registry; every worker says it runs.
            for _ in range(6):
                registry = requests.get(f"{server.endpoint}/health", timeout=5).json()["registry"]
                assert registry["enabled"] is True, registry
                answer = requests.get(f"http://{registry['address']}/v2/", timeout=5)
                assert answer.status_code == 401
    finally:
        server.close()
