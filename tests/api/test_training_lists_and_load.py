"""Listing training jobs stays right as the count is kept rather than counted and late
pages are read from the end: every page in order, the total after creates and deletes.
And SQLite's one writer at a time answers a write that waited too long as busy, to be
tried again, never as a fault."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from openarts.services import buckets
from tests.conftest import Api, make_settings, start_api

FLAVORS = """
flavors:
  - name: test.cpu.huge
    vcpus: 64
    memory_gib: 1
    uses: [training]
"""
BUCKET = "lists"
JOBS = "/v2/{project_id}/training-jobs"
SEARCHES = "/v2/{project_id}/training-job-searches"


async def started(tmp_path: Path, database_url: str, **settings: Any) -> AsyncIterator[Api]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    async for started in start_api(make_settings(home, database_url, **settings)):
        await started.platform.store.create_bucket(BUCKET)
        async with started.platform.db.session() as session, session.begin():
            await buckets.record_bucket(session, name=BUCKET, project_id=started.project_id)
        yield started


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    async for one in started(tmp_path, database_url):
        yield one


@pytest.fixture
async def impatient_api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    """Writes wait only a moment for SQLite's lock: a held lock shows within the test."""
    async for one in started(tmp_path, database_url, sqlite_lock_wait_s=0.3):
        yield one


def body(name: str) -> dict[str, Any]:
    # A flavor larger than the machine: capped to it, the jobs wait for one another.
    return {
        "kind": "job",
        "metadata": {"name": name},
        "algorithm": {
            "code_dir": f"/{BUCKET}/code/",
            "boot_file": f"/{BUCKET}/code/train.py",
            "engine": {"engine_name": "Python"},
        },
        "spec": {"resource": {"flavor_id": "test.cpu.huge", "node_count": 1}},
    }


async def search(api: Api, **query: Any) -> dict[str, Any]:
    answer = await api.call("POST", SEARCHES, json=query)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_every_page_is_in_order_and_the_total_follows_creates_and_deletes(
    api: Api,
) -> None:
    names = [f"job-{n:02}" for n in range(23)]
    ids = []
    for name in names:
        answer = await api.call("POST", JOBS, json=body(name))
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["metadata"]["id"])
    for ascending in (False, True):
        order = "asc" if ascending else "desc"
        seen: list[str] = []
        for offset in range(0, 25, 5):
            page = await search(api, offset=offset, limit=5, sort_by="create_time", order=order)
            assert page["total"] == 23
            seen += [item["metadata"]["name"] for item in page["items"]]
        expected = sorted(names) if ascending else sorted(names, reverse=True)
        assert seen == expected
        by_name = await search(api, offset=20, limit=10, sort_by="name", order=order)
        assert [i["metadata"]["name"] for i in by_name["items"]] == expected[20:]
    for job_id in ids[:4]:
        assert (await api.call("DELETE", f"{JOBS}/{job_id}")).status_code == 202
    page = await search(api, offset=17, limit=5, order="asc")
    assert page["total"] == 19
    assert [i["metadata"]["name"] for i in page["items"]] == names[21:]
    filtered = await search(
        api, limit=50, filters=[{"key": "name", "operator": "like", "value": ["job-1"]}]
    )
    assert filtered["total"] == 10
    named = await search(
        api,
        limit=50,
        order="asc",
        filters=[{"key": "name", "operator": "in", "value": ["job-22", "job-07", "job-15"]}],
    )
    assert [i["metadata"]["name"] for i in named["items"]] == ["job-07", "job-15", "job-22"]


async def test_a_write_that_waits_too_long_for_sqlite_is_refused_as_busy(
    impatient_api: Api, database_url: str
) -> None:
    api = impatient_api
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL takes writes side by side")
    path = make_url(database_url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        answer = await api.call("POST", JOBS, json=body("while-locked"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answer.status_code == 429, answer.text
    assert answer.json()["error_code"] == "ModelArts.6101"
    assert answer.headers["Retry-After"] == "1"
    assert (await search(api))["total"] == 0  # nothing of it was written
    again = await api.call("POST", JOBS, json=body("while-locked"))
    assert again.status_code == 201, again.text


async def test_many_creates_at_once_all_land(api: Api) -> None:
    answers = await asyncio.gather(
        *(api.call("POST", JOBS, json=body(f"burst-{n}")) for n in range(60))
    )
    assert sorted({a.status_code for a in answers}) == [201]
    assert (await search(api))["total"] == 60
