"""Two server processes on one PostgreSQL database (as `--workers` runs them, or servers
on several machines): a job accepted by the one that does not lead the loops starts at
once, because its commit reaches the leader (db/notes_feed.py), not at the leader's
next interval."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from openarts.services import buckets
from openarts.storage.base import one_chunk
from tests.conftest import make_settings, start_api

FLAVORS = """
flavors:
  - name: test.cpu.small
    vcpus: 0.25
    memory_gib: 0.5
    uses: [training]
"""
JOBS = "/v2/{project_id}/training-jobs"


async def test_a_job_accepted_by_the_follower_is_run_by_the_leader_at_once(
    tmp_path: Path, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("one server process owns a SQLite database")
    # Both serve one home (its files, its secret key), as the workers of one server do.
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    # Passes come only when something wakes them.
    settings = make_settings(home, database_url, reconcile_interval_s=300, sandbox="off")
    async for leader in start_api(settings):  # started first: it leads
        assert await leader.platform.workloads.leadership.held()  # type: ignore[union-attr]
        async for follower in start_api(settings):
            assert not await follower.platform.workloads.leadership.held()  # type: ignore[union-attr]
            await follower.platform.store.create_bucket("shared")
            async with follower.platform.db.session() as session, session.begin():
                await buckets.record_bucket(session, name="shared", project_id=follower.project_id)
            await follower.platform.store.write(
                "shared", "code/train.py", one_chunk(b"print('ran')\n")
            )
            answer = await follower.call(
                "POST",
                JOBS,
                json={
                    "kind": "job",
                    "metadata": {"name": "woken"},
                    "algorithm": {
                        "code_dir": "/shared/code/",
                        "boot_file": "/shared/code/train.py",
                    },
                    "spec": {"resource": {"flavor_id": "test.cpu.small", "node_count": 1}},
                },
            )
            assert answer.status_code == 201, answer.text
            job_id = answer.json()["metadata"]["id"]
            deadline = time.monotonic() + 60
            while True:
                shown = await follower.call("GET", f"{JOBS}/{job_id}")
                phase = shown.json()["status"]["phase"]
                if phase == "Completed":
                    break
                assert phase not in ("Failed", "Terminated"), shown.text
                assert time.monotonic() < deadline, shown.text
                await asyncio.sleep(0.2)
