"""The event list over the one events table."""

from __future__ import annotations

import pytest

from openarts.domain.events import EventType
from openarts.services.events import record_event
from openarts.testing.factories import add_project, add_user
from tests.conftest import Api


@pytest.fixture
def api(light_api: Api) -> Api:
    """What these requests answer needs nothing to run: no loops, a fake backend."""
    return light_api


EVENTS = "/v1/{project_id}/events"


async def add_events(api: Api, name: str, items: list[tuple[str, str, EventType]]) -> None:
    for reason, message, kind in items:
        async with api.platform.db.session() as session, session.begin():
            await record_event(
                session,
                project_id=api.project_id,
                resource_type="pools",
                resource_name=name,
                reason=reason,
                message=message,
                type=kind,
            )


async def test_events_of_a_pool_newest_first(api: Api) -> None:
    await add_events(
        api,
        "pool-a",
        [
            ("PoolStatusChange", "from Creating to Running", EventType.NORMAL),
            ("PoolStatusChange", "from Running to Abnormal", EventType.WARNING),
        ],
    )
    await add_events(api, "pool-b", [("Other", "elsewhere", EventType.NORMAL)])
    response = await api.call("GET", EVENTS, params={"resource": "pools", "name": "pool-a"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "EventList"
    assert body["apiVersion"] == "v1"
    assert body["total"] == 2
    assert [e["message"] for e in body["items"]] == [
        "from Running to Abnormal",
        "from Creating to Running",
    ]
    first = body["items"][0]
    assert first["kind"] == "Event" and first["type"] == "Warning" and first["count"] == 1
    assert first["firstTimestamp"].endswith("Z")


async def test_repeats_are_counted(api: Api) -> None:
    await add_events(api, "pool-c", [("Scaled", "one more node", EventType.NORMAL)] * 3)
    body = (await api.call("GET", EVENTS, params={"resource": "pools", "name": "pool-c"})).json()
    assert body["total"] == 1
    assert body["items"][0]["count"] == 3


async def test_filters_and_paging(api: Api) -> None:
    await add_events(
        api,
        "pool-d",
        [
            (f"R{i}", f"message {i}", EventType.WARNING if i % 2 else EventType.NORMAL)
            for i in range(5)
        ],
    )
    warnings = (
        await api.call(
            "GET", EVENTS, params={"resource": "pools", "name": "pool-d", "type": "Warning"}
        )
    ).json()
    assert warnings["total"] == 2
    first = (
        await api.call(
            "GET",
            EVENTS,
            params={"resource": "pools", "name": "pool-d", "limit": 2, "ascend": "true"},
        )
    ).json()
    assert [e["reason"] for e in first["items"]] == ["R0", "R1"]
    assert first["metadata"] == {"continue": "2", "remainingItemCount": 3}
    second = (
        await api.call(
            "GET",
            EVENTS,
            params={
                "resource": "pools",
                "name": "pool-d",
                "limit": 2,
                "ascend": "true",
                "continue": first["metadata"]["continue"],
            },
        )
    ).json()
    assert [e["reason"] for e in second["items"]] == ["R2", "R3"]
    by_offset = (
        await api.call(
            "GET",
            EVENTS,
            params={"resource": "pools", "name": "pool-d", "offset": 4, "ascend": "true"},
        )
    ).json()
    assert [e["reason"] for e in by_offset["items"]] == ["R4"]
    future = (
        await api.call(
            "GET", EVENTS, params={"resource": "pools", "name": "pool-d", "since": 4_102_444_800}
        )
    ).json()
    assert future["total"] == 0
    past = (
        await api.call(
            "GET", EVENTS, params={"resource": "pools", "name": "pool-d", "until": 946_684_800_000}
        )
    ).json()
    assert past["total"] == 0


async def test_events_stay_in_their_project(api: Api) -> None:
    other = await add_project(api.platform.db, "events-other")
    user = await add_user(api.platform.db, api.platform.box, "gina", projects=[other])
    await add_events(api, "pool-e", [("Secret", "admin project only", EventType.NORMAL)])
    response = await api.call(
        "GET", f"/v1/{other}/events", keys=user.keys, params={"resource": "pools", "name": "pool-e"}
    )
    assert response.status_code == 200
    assert response.json()["total"] == 0


async def test_bad_event_queries(api: Api) -> None:
    for params, field in [
        ({"name": "x"}, "resource"),
        ({"resource": "pools"}, "name"),
        ({"resource": "cars", "name": "x"}, "resource"),
        ({"resource": "pools", "name": "x", "limit": 501}, "limit"),
        ({"resource": "pools", "name": "x", "type": "Fatal"}, "type"),
        ({"resource": "pools", "name": "x", "continue": "abc"}, "continue"),
    ]:
        response = await api.call("GET", EVENTS, params=params)
        assert response.status_code == 400, (params, response.text)
        assert field in response.json()["error_msg"]
