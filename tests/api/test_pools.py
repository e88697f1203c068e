"""Pools and networks over HTTP: bad input answers in the contract's shape and changes
nothing; only administrators change capacity; projects see only their own pools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openarts.testing.factories import add_project, add_user
from tests.conftest import Api, make_settings, start_api


@pytest.fixture
def api(light_api: Api) -> Api:
    """What these requests answer needs nothing to run: no loops, a fake backend."""
    return light_api


NETWORKS = "/v1/{project_id}/networks"
POOLS = "/v2/{project_id}/pools"


def network_body(name: str = "net-api", cidr: str = "192.168.1.0/24") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Network",
        "metadata": {"labels": {"os.modelarts/name": name}},
        "spec": {"cidr": cidr},
    }


def pool_body(network: str, flavor: str = "modelarts.vm.cpu.2u", count: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "v2",
        "kind": "Pool",
        "metadata": {"labels": {"os.modelarts/name": "pool-api"}},
        "spec": {
            "type": "Dedicate",
            "resources": [{"flavor": flavor, "count": count}],
            "network": {"name": network},
        },
    }


async def test_bad_networks_are_refused_with_reasons(api: Api) -> None:
    cases = {
        "10.0.0.0/8": "must lie inside",
        "192.168.1.0/28": "too small",
        "192.168.1.7/24": "not a valid network",
        "nonsense": "not a valid network",
    }
    for cidr, words in cases.items():
        answer = await api.call("POST", NETWORKS, json=network_body(cidr=cidr))
        assert answer.status_code == 400, cidr
        assert answer.json()["error_code"] == "ModelArts.50004000"
        assert words in answer.json()["error_msg"]
    bad_name = await api.call("POST", NETWORKS, json=network_body(name="NO"))
    assert bad_name.status_code == 400
    long_workspace = network_body()
    long_workspace["metadata"]["labels"]["os.modelarts/workspace.id"] = "w" * 100
    answer = await api.call("POST", NETWORKS, json=long_workspace)
    assert answer.status_code == 400
    assert "workspace id" in answer.json()["error_msg"]
    peered = network_body()
    peered["spec"]["connection"] = {"peerConnectionList": [{"peerVpcId": "v", "peerSubnetId": "s"}]}
    assert (await api.call("POST", NETWORKS, json=peered)).status_code == 400
    assert (await api.call("GET", NETWORKS)).json()["items"] == []
    missing = await api.call("GET", NETWORKS + "/nope")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "ModelArts.50025001"


async def test_bad_pools_are_refused_and_change_nothing(api: Api) -> None:
    network = (await api.call("POST", NETWORKS, json=network_body())).json()["metadata"]["name"]
    cases: list[tuple[dict[str, Any], str]] = [
        (pool_body(network, flavor="no.such.flavor"), "not a pool flavor"),
        (pool_body(network, count=0), "count must be at least 1"),
        (pool_body("no-such-network"), "does not exist"),
        (pool_body(network, flavor="modelarts.vm.cpu.8u", count=64), "not enough free capacity"),
    ]
    logical = pool_body(network)
    logical["spec"]["type"] = "Logical"
    cases.append((logical, "only Dedicate pools"))
    for body, words in cases:
        answer = await api.call("POST", POOLS, json=body)
        assert answer.status_code == 400, body
        assert answer.json()["error_code"] == "ModelArts.50004000"
        assert words in answer.json()["error_msg"]
    assert (await api.call("GET", POOLS)).json()["items"] == []
    quotas = (await api.call("GET", "/v1/{project_id}/quotas")).json()["quotas"]["resources"]
    assert {q["type"]: q["used"] for q in quotas} == {"pool": 0, "network": 1}
    missing = await api.call("GET", POOLS + "/nope")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "ModelArts.50015001"
    assert (await api.call("GET", POOLS + "/nope/nodes")).status_code == 404
    bad_range = await api.call("GET", "/v2/{project_id}/pools/nope/monitor")
    assert bad_range.status_code == 404


@pytest.fixture
async def small_api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    """A server whose catalog has a pool flavor small enough for any test machine."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(
        "flavors:\n  - {name: modelarts.vm.cpu.tiny, vcpus: 0.25, memory_gib: 0.5, uses: [pool]}\n"
    )
    async for started in start_api(make_settings(home, database_url)):
        yield started


async def test_members_read_administrators_change_and_projects_are_apart(small_api: Api) -> None:
    api = small_api
    network = (await api.call("POST", NETWORKS, json=network_body())).json()["metadata"]["name"]
    created = await api.call("POST", POOLS, json=pool_body(network, flavor="modelarts.vm.cpu.tiny"))
    assert created.status_code == 200, created.text
    pool = created.json()["metadata"]["name"]
    member = await add_user(api.platform.db, api.platform.box, "mia", projects=[api.project_id])
    member_keys = member.keys
    assert (await api.call("GET", POOLS + f"/{pool}", keys=member_keys)).status_code == 200
    refused = await api.call("DELETE", POOLS + f"/{pool}", keys=member_keys)
    assert refused.status_code == 403
    other = await add_project(api.platform.db, "elsewhere")
    outsider = await add_user(api.platform.db, api.platform.box, "otto", projects=[other])
    outsider_keys = outsider.keys
    foreign = await api.call("GET", f"/v2/{other}/pools/{pool}", keys=outsider_keys)
    assert foreign.status_code == 404
    assert (await api.call("GET", f"/v2/{other}/pools", keys=outsider_keys)).json()["items"] == []
