"""Resource pools end to end through the official SDK, against a real server process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import (
    BatchCreatePoolTagsRequest,
    BatchDeletePoolNodesRequest,
    BatchDeletePoolTagsRequest,
    CreateNetworkRequest,
    CreatePoolRequest,
    CreatePoolRequestBody,
    CreateTagRequest,
    DeleteNetworkRequest,
    DeletePoolRequest,
    DeleteTagItem,
    DeleteTagRequest,
    ListNetworksRequest,
    ListPoolNodesRequest,
    ListPoolsRequest,
    ListPoolTagsRequest,
    ListWorkloadsRequest,
    ModelArtsClient,
    NetworkCreationRequest,
    NetworkMetadataCreation,
    NetworkMetadataLabels,
    NetworkSpec,
    NodesDeletionRequest,
    PatchPoolRequest,
    PoolLabelsCreation,
    PoolMetadataCreation,
    PoolResourceFlavor,
    PoolSpecCreation,
    PoolSpecCreationNetwork,
    PoolSpecUpdate,
    PoolSpecUpdateResources,
    PoolUpdateRequest,
    ShowNetworkRequest,
    ShowPluginTemplateRequest,
    ShowPoolMonitorRequest,
    ShowPoolRequest,
    ShowPoolRuntimeMetricsRequest,
    ShowPoolStatisticsRequest,
    ShowPoolTagsRequest,
    ShowWorkloadStatisticsRequest,
    Tag,
)

from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client, signed_call

pytestmark = pytest.mark.e2e

T = TypeVar("T")

# A pool flavor small enough that several nodes fit on a two-core test machine.
FLAVORS = """
flavors:
  - name: modelarts.vm.cpu.tiny
    vcpus: 0.25
    memory_gib: 0.5
    uses: [pool, training]
  - name: modelarts.vm.cpu.huge
    vcpus: 4096
    memory_gib: 65536
    uses: [pool]
"""


@pytest.fixture
def pool_server(tmp_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    process = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.5"}).start()
    try:
        yield process
    finally:
        process.close()


def until(probe: Callable[[], T | None], what: str, timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_sdk_manages_networks_pools_nodes_tags_and_metrics(pool_server: ServerProcess) -> None:
    row = pool_server.credentials()
    ak, sk, project = row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
    sdk: ModelArtsClient = sdk_client(pool_server.endpoint, ak, sk, project)

    network = sdk.create_network(
        CreateNetworkRequest(
            body=NetworkCreationRequest(
                api_version="v1",
                kind="Network",
                metadata=NetworkMetadataCreation(
                    labels=NetworkMetadataLabels(os_modelarts_name="net-e2e")
                ),
                spec=NetworkSpec(cidr="192.168.128.0/17"),
            )
        )
    )
    net_name = network.metadata.name
    assert net_name.startswith("net-e2e-")
    assert sdk.show_network(ShowNetworkRequest(network_name=net_name)).spec.cidr == (
        "192.168.128.0/17"
    )
    assert [n.metadata.name for n in sdk.list_networks(ListNetworksRequest()).items] == [net_name]
    with pytest.raises(ClientRequestException) as overlap:
        sdk.create_network(
            CreateNetworkRequest(
                body=NetworkCreationRequest(
                    api_version="v1",
                    kind="Network",
                    metadata=NetworkMetadataCreation(
                        labels=NetworkMetadataLabels(os_modelarts_name="net-two")
                    ),
                    spec=NetworkSpec(cidr="192.168.200.0/24"),
                )
            )
        )
    assert overlap.value.status_code == 400
    assert "overlaps" in overlap.value.error_msg

    def create(flavor: str, count: int) -> CreatePoolRequest:
        return CreatePoolRequest(
            body=CreatePoolRequestBody(
                api_version="v2",
                kind="Pool",
                metadata=PoolMetadataCreation(
                    labels=PoolLabelsCreation(os_modelarts_name="pool-e2e")
                ),
                spec=PoolSpecCreation(
                    type="Dedicate",
                    scope=["Train"],
                    resources=[PoolResourceFlavor(flavor=flavor, count=count, max_count=count)],
                    network=PoolSpecCreationNetwork(name=net_name),
                ),
            )
        )

    with pytest.raises(ClientRequestException) as short:
        sdk.create_pool(create("modelarts.vm.cpu.huge", 1))
    assert short.value.status_code == 400
    assert "not enough free capacity" in short.value.error_msg

    created = sdk.create_pool(create("modelarts.vm.cpu.tiny", 2))
    pool = created.metadata.name
    assert created.status.phase == "Creating"
    with pytest.raises(ClientRequestException) as duplicate:
        sdk.create_pool(create("modelarts.vm.cpu.tiny", 1))
    assert duplicate.value.status_code == 409

    until(
        lambda: sdk.show_pool(ShowPoolRequest(pool_name=pool)).status.phase == "Running",
        "the pool to run",
    )
    assert [p.metadata.name for p in sdk.list_pools(ListPoolsRequest(status="created")).items] == [
        pool
    ]
    stats = sdk.show_pool_statistics(ShowPoolStatisticsRequest())
    assert stats.statistics.status.created == 1

    nodes = sdk.list_pool_nodes(ListPoolNodesRequest(pool_name=pool)).items
    assert len(nodes) == 2
    assert {n.status.phase for n in nodes} == {"Available"}
    assert nodes[0].status.resources.cpu == "250m"

    # Tags, and finding the pool by them.
    sdk.batch_create_pool_tags(
        BatchCreatePoolTagsRequest(
            pool_name=pool,
            body=CreateTagRequest(
                tags=[Tag(key="team", value="vision"), Tag(key="tier", value="a")]
            ),
        )
    )
    shown = signed_call(pool_server, "GET", f"/v1/{{project_id}}/pools/{pool}/tags")
    assert shown.json() == {
        "tags": [{"key": "team", "value": "vision"}, {"key": "tier", "value": "a"}]
    }
    assert [t.key for t in sdk.show_pool_tags(ShowPoolTagsRequest(pool_name=pool)).tags] == [
        "team",
        "tier",
    ]
    everything = sdk.list_pool_tags(ListPoolTagsRequest())
    assert {t.key: t.values for t in everything.tags} == {"team": ["vision"], "tier": ["a"]}
    found = signed_call(
        pool_server,
        "POST",
        "/v1/{project_id}/pools/resource-instances/filter",
        json={
            "tags": [{"key": "team", "values": ["vision"]}],
            "matches": [{"key": "resource_name", "value": "E2E"}],
        },
    ).json()
    assert found["total_count"] == 1 and found["resources"][0]["resource_id"] == pool
    sdk.batch_delete_pool_tags(
        BatchDeletePoolTagsRequest(
            pool_name=pool, body=DeleteTagRequest(tags=[DeleteTagItem(key="tier")])
        )
    )
    remaining = signed_call(pool_server, "GET", f"/v1/{{project_id}}/pools/{pool}/tags").json()
    assert remaining == {"tags": [{"key": "team", "value": "vision"}]}

    # Scale up to three nodes, then delete one node by name.
    sdk.patch_pool(
        PatchPoolRequest(
            pool_name=pool,
            body=PoolUpdateRequest(
                spec=PoolSpecUpdate(
                    resources=[PoolSpecUpdateResources(flavor="modelarts.vm.cpu.tiny", count=3)]
                )
            ),
        )
    )
    three = until(
        lambda: [
            n
            for n in [sdk.list_pool_nodes(ListPoolNodesRequest(pool_name=pool)).items]
            if len(n) == 3 and all(x.status.phase == "Available" for x in n)
        ],
        "three available nodes",
    )[0]
    victim = three[0].metadata.name
    sdk.batch_delete_pool_nodes(
        BatchDeletePoolNodesRequest(
            pool_name=pool, body=NodesDeletionRequest(delete_node_names=[victim])
        )
    )
    until(
        lambda: len(sdk.list_pool_nodes(ListPoolNodesRequest(pool_name=pool)).items) == 2,
        "the deleted node to go",
    )
    assert sdk.show_pool(ShowPoolRequest(pool_name=pool)).spec.resources[0].count == 2

    # Jobs, monitor, usage and plug-ins.
    assert sdk.list_workloads(ListWorkloadsRequest(pool_name=pool)).items == []
    assert (
        sdk.show_workload_statistics(ShowWorkloadStatisticsRequest(pool_name=pool)).statistics.total
        == 0
    )
    monitor = sdk.show_pool_monitor(ShowPoolMonitorRequest(pool_name=pool))
    assert {m.metric.metric_name for m in monitor.metrics} == {"cpuUsage", "memUsedRate"}
    usage = sdk.show_pool_runtime_metrics(ShowPoolRuntimeMetricsRequest())
    assert usage.items[0].metadata.name == pool
    assert usage.items[0].table.capacity.value.cpu == "500m"
    exporter = sdk.show_plugin_template(
        ShowPluginTemplateRequest(plugintemplate_name="metrics-exporter")
    )
    assert exporter.spec.type == "icAgent" and exporter.spec.versions
    with pytest.raises(ClientRequestException) as missing:
        sdk.show_plugin_template(ShowPluginTemplateRequest(plugintemplate_name="npu-driver"))
    assert missing.value.status_code == 404

    # A network in use cannot go; once the pool is deleted it can.
    with pytest.raises(ClientRequestException) as in_use:
        sdk.delete_network(DeleteNetworkRequest(network_name=net_name))
    assert in_use.value.status_code == 400
    assert sdk.delete_pool(DeletePoolRequest(pool_name=pool)).status.phase == "Deleting"

    def gone() -> bool:
        try:
            sdk.show_pool(ShowPoolRequest(pool_name=pool))
        except ClientRequestException as exc:
            return bool(exc.status_code == 404)
        return False

    until(gone, "the pool to be deleted")
    sdk.delete_network(DeleteNetworkRequest(network_name=net_name))
    assert sdk.list_networks(ListNetworksRequest()).items == []
