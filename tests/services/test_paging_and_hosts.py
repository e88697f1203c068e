"""A list's page and its total come from one statement; the hosts a request checks
against are the last reading, asked of the backend only when there is none."""

from __future__ import annotations

from openarts.backends.base import NodeInfo
from openarts.db.tables import Event
from openarts.domain.events import EventType
from openarts.services import events
from openarts.services.hosts import Hosts
from openarts.services.paging import count_where
from openarts.testing.fake_backends import FakeBackend
from tests.conftest import Scene

GIB = 1 << 30


async def record(scene: Scene, count: int) -> None:
    async with scene.db.session() as session, session.begin():
        for index in range(count):
            await events.record_event(
                session,
                project_id=scene.caller.project_id,
                resource_type="pools",
                resource_name="pool-a",
                reason="Step",
                message=f"step {index}",
                type=EventType.WARNING if index % 2 else EventType.NORMAL,
                fold=False,
            )


async def test_a_page_and_the_total_agree(scene: Scene) -> None:
    await record(scene, 7)
    query = events.EventFilter(
        project_id=scene.caller.project_id, resource_type="pools", resource_name="pool-a"
    )
    seen: list[str] = []
    async with scene.db.session() as session:
        for offset in (0, 3, 6):
            page = await events.list_events(session, query, limit=3, offset=offset)
            assert page.total == 7
            seen += [row.message for row in page.items]
        warnings = await count_where(
            session, Event, Event.resource_name == "pool-a", Event.type == EventType.WARNING.value
        )
    # Newest first, no row twice, none left out.
    assert seen == [f"step {index}" for index in reversed(range(7))]
    assert warnings == 3


class CountingBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__([NodeInfo("node-1", 4.0, 8 * GIB, 0, "x86")])
        self.asked = 0

    async def nodes(self) -> list[NodeInfo]:
        self.asked += 1
        return await super().nodes()


async def test_requests_take_the_last_reading_of_the_hosts() -> None:
    backend = CountingBackend()
    hosts = Hosts(backend)
    first = await hosts.known()
    assert [host.name for host in first] == ["node-1"] and backend.asked == 1
    await hosts.known()
    assert backend.asked == 1  # the loop's reading stands until the next pass
    await hosts.refresh()
    assert backend.asked == 2
