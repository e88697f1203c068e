"""The private Ray cluster that the Ray tests and benchmarks stand on: it starts the nodes
asked for, a killed raylet is reported dead within seconds, and closing leaves no process
behind."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from openarts.testing.ray_cluster import NodeSpec, RayCluster

pytestmark = [pytest.mark.ray]

GIB = 1 << 30
# Loopback addresses of its own: it runs beside the other Ray tests' clusters.
HEAD, DOOMED, SPECIAL = "127.0.0.22", "127.0.0.23", "127.0.0.24"

# A driver of its own, as the platform's server would be: joins through the head, runs one
# task on the node with the custom resource (so workers can start and bind ports), and
# prints what Ray says of the nodes.
DRIVER = """
import json, sys
import ray
ray.init(address=sys.argv[1], _node_ip_address=sys.argv[2], logging_level="ERROR")
where = ray.get(
    ray.remote(resources={"special": 1}, num_cpus=0)(ray.util.get_node_ip_address).remote()
)
nodes = [
    {"ip": n["NodeManagerAddress"], "alive": n["Alive"], "resources": n["Resources"]}
    for n in ray.nodes()
]
print(json.dumps({"task_ran_on": where, "nodes": nodes}))
"""


def mentions(process: psutil.Process, folder: Path) -> bool:
    try:
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return any(str(folder) in part for part in process.cmdline())
    except psutil.Error:
        return False


def test_a_private_cluster_starts_reports_a_lost_node_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    nodes = [
        NodeSpec(HEAD, num_cpus=1),
        NodeSpec(DOOMED, num_cpus=1, memory_bytes=GIB),
        NodeSpec(SPECIAL, num_cpus=1, memory_bytes=GIB, resources={"special": 2}),
    ]
    started = time.monotonic()
    with RayCluster.start(tmp_path, nodes) as cluster:
        print(f"3-node cluster up in {time.monotonic() - started:.1f} s")
        assert cluster.address.startswith(f"{HEAD}:")
        assert [node.ip for node in cluster.nodes] == [HEAD, DOOMED, SPECIAL]
        assert all(node.temp_dir.is_relative_to(cluster.temp_dir) for node in cluster.nodes)
        assert all(node.raylet_pid in node.pids for node in cluster.nodes)

        driver = subprocess.run(
            [sys.executable, "-c", DRIVER, cluster.address, HEAD],
            capture_output=True,
            text=True,
            env=cluster.client_env,
            timeout=60,
            check=False,
        )
        assert driver.returncode == 0, driver.stderr[-3000:]
        seen = json.loads(driver.stdout.splitlines()[-1])
        assert seen["task_ran_on"] == SPECIAL
        by_ip = {node["ip"]: node for node in seen["nodes"]}
        assert sorted(by_ip) == [HEAD, DOOMED, SPECIAL]
        assert all(node["alive"] for node in by_ip.values())
        for ip in by_ip:
            assert by_ip[ip]["resources"]["CPU"] == 1
        assert by_ip[DOOMED]["resources"]["memory"] == GIB
        assert by_ip[SPECIAL]["resources"]["special"] == 2
        assert "special" not in by_ip[DOOMED]["resources"]

        killed = time.monotonic()
        cluster.kill_raylet(DOOMED)
        after = cluster.wait_for_nodes([HEAD, SPECIAL], timeout_s=20)
        print(f"lost node reported dead after {time.monotonic() - killed:.1f} s")
        assert {node["ip"]: node["alive"] for node in after} == {
            HEAD: True,
            DOOMED: False,
            SPECIAL: True,
        }
        # Only that raylet: the head's processes and the other worker's raylet go on.
        survivors = [*cluster.node(HEAD).pids, cluster.node(SPECIAL).raylet_pid]
        assert all(psutil.pid_exists(pid) for pid in survivors)
        folder = cluster.temp_dir

    left = [p for p in psutil.process_iter() if mentions(p, folder)]
    assert left == []
    assert not folder.exists()
    assert (tmp_path / f"logs-1-{DOOMED}" / "raylet.out").exists()
