"""Resource flavors, OS configuration and OS quotas."""

from __future__ import annotations

import pytest

from openarts.domain.flavors import FlavorUse
from tests.conftest import Api


@pytest.fixture
def api(light_api: Api) -> Api:
    """What these requests answer needs nothing to run: no loops, a fake backend."""
    return light_api


FLAVORS = "/v1/{project_id}/resourceflavors"


async def test_resource_flavors_come_from_the_catalog(api: Api) -> None:
    body = (await api.call("GET", FLAVORS)).json()
    assert body["kind"] == "ResourceFlavorList"
    names = [item["metadata"]["name"] for item in body["items"]]
    catalog = api.platform.api.catalog
    assert names == [f.name for f in catalog.flavors if "pool" in f.uses]
    cpu = next(i for i in body["items"] if i["metadata"]["name"] == "modelarts.vm.cpu.2u")
    assert cpu["spec"]["cpu"] == "2"
    assert cpu["spec"]["memory"] == "8Gi"
    assert cpu["spec"]["cpuArch"] == catalog.host.arch
    assert cpu["status"]["phase"] == {"local": "normal"}
    assert "Pool" in cpu["metadata"]["labels"]["os.modelarts/scope"]


async def test_gpu_flavors_are_sold_out_without_gpus(api: Api) -> None:
    body = (await api.call("GET", FLAVORS)).json()
    gpus = len(api.platform.api.catalog.host.gpus)
    for item in body["items"]:
        gpu = item["spec"].get("gpu")
        if gpu is None:
            continue
        expected = "normal" if int(gpu["size"]) <= gpus else "soldout"
        assert item["status"]["phase"]["local"] == expected, item["metadata"]["name"]


async def test_flavor_paging_and_selector(api: Api) -> None:
    first = (await api.call("GET", FLAVORS, params={"limit": 2})).json()
    assert len(first["items"]) == 2
    rest = (
        await api.call(
            "GET", FLAVORS, params={"limit": 100, "continue": first["metadata"]["continue"]}
        )
    ).json()
    total = len(first["items"]) + len(rest["items"])
    assert total == len(api.platform.api.catalog.for_use(FlavorUse.POOL))
    train = (
        await api.call("GET", FLAVORS, params={"labelSelector": "os.modelarts/scope=Train"})
    ).json()
    assert "modelarts.vm.cpu.2u" in [i["metadata"]["name"] for i in train["items"]]
    none = (
        await api.call("GET", FLAVORS, params={"labelSelector": "os.modelarts/scope=Nothing"})
    ).json()
    assert none["items"] == []
    bad = await api.call("GET", FLAVORS, params={"labelSelector": "a b=c"})
    assert bad.status_code == 400


async def test_os_config_and_quotas(api: Api) -> None:
    config = (await api.call("GET", "/v1/{project_id}/os-user-config")).json()
    assert config == {
        "networkCidrs": ["172.16.0.0/12", "192.168.0.0/16"],
        "networkQuota": 15,
        "poolQuota": 15,
        "pooHighAvailable": False,
        "maxPoolFlavors": 10,
    }
    quotas = (await api.call("GET", "/v1/{project_id}/quotas")).json()
    assert quotas == {
        "quotas": {
            "resources": [
                {"type": "pool", "quota": 15, "used": 0},
                {"type": "network", "quota": 15, "used": 0},
            ]
        }
    }
