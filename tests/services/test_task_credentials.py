"""A workload's temporary storage credential: scoped to its project, valid while the
workload has not finished, and removed once it has."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from openarts.db.tables import TaskCredential
from openarts.domain.workloads import WorkloadStatus
from openarts.security.secrets_box import SecretBox
from openarts.services import task_credentials
from openarts.services import workloads as workload_service
from openarts.services.workloads import StatusChange, TaskTemplate
from tests.conftest import Scene

BOX = SecretBox(Fernet.generate_key())


async def _workload(scene: Scene, name: str) -> str:
    async with scene.db.session() as session, session.begin():
        workload = await workload_service.submit_workload(
            session,
            project_id=scene.caller.project_id,
            kind="test",
            resource_id=name,
            tasks=[TaskTemplate(["/bin/true"], "/", vcpus=1, memory_bytes=2**20)],
        )
        return workload.id


async def _finish(scene: Scene, workload_id: str, name: str) -> None:
    async with scene.db.session() as session, session.begin():
        for current, to in (
            (WorkloadStatus.PENDING, WorkloadStatus.RUNNING),
            (WorkloadStatus.RUNNING, WorkloadStatus.SUCCEEDED),
        ):
            change = StatusChange(
                workload_id, scene.caller.project_id, "test", name, current, to, "done"
            )
            await workload_service.switch_workload_statuses(session, [change])


async def test_a_credential_works_while_its_workload_runs_and_not_after(scene: Scene) -> None:
    workload_id = await _workload(scene, "first")
    async with scene.db.session() as session, session.begin():
        access_key, secret_key = await task_credentials.issue(session, BOX, workload_id)
    async with scene.db.session() as session:
        found = await task_credentials.lookup(session, access_key)
    assert found is not None
    assert (found.project_id, found.workload_id) == (scene.caller.project_id, workload_id)
    assert BOX.decrypt(found.secret_encrypted) == secret_key
    # Only encrypted in the database.
    async with scene.db.session() as session:
        row = await session.get(TaskCredential, access_key)
    assert row is not None and secret_key not in row.secret_encrypted

    await _finish(scene, workload_id, "first")
    async with scene.db.session() as session:
        assert await task_credentials.lookup(session, access_key) is None
    # The next credential issued tidies the finished workload's away.
    second = await _workload(scene, "second")
    async with scene.db.session() as session, session.begin():
        await task_credentials.issue(session, BOX, second)
    async with scene.db.session() as session:
        left = set(await session.scalars(select(TaskCredential.workload_id)))
    assert left == {second}


async def test_no_credential_for_a_workload_that_is_gone(scene: Scene) -> None:
    with pytest.raises(task_credentials.UnknownWorkload):
        async with scene.db.session() as session, session.begin():
            await task_credentials.issue(session, BOX, "no-such-workload")
