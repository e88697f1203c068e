"""A Ray cluster with token authentication admits only a server that has its token, and
the token is never in the server's log. A cluster of its own, on loopback addresses of its
own (127.0.0.12 and .13), so it runs beside the other Ray tests' clusters."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from openarts.testing.ray_cluster import NodeSpec, RayCluster
from openarts.testing.server import ServerProcess
from tests.ray.test_ray_platform import FLAVORS, RENDEZVOUS, put_code, sdk_of, submit, wait_phase

pytestmark = [pytest.mark.ray, pytest.mark.e2e]


def test_a_cluster_with_token_authentication_admits_only_a_server_with_its_token(
    tmp_path: Path,
) -> None:
    token = tmp_path / "ray-token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    nodes = [NodeSpec("127.0.0.12", num_cpus=0), NodeSpec("127.0.0.13", num_cpus=1)]
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    with RayCluster.start(tmp_path / "ray", nodes, env=env) as secured:
        home = tmp_path / "home"
        home.mkdir()
        (home / "flavors.yaml").write_text(FLAVORS)
        settings = {
            "OPENARTS_BACKEND": "ray",
            "OPENARTS_RAY_ADDRESS": secured.address,
            # Tasks on Ray run unsandboxed too, where the cluster's users trust each other.
            "OPENARTS_SANDBOX": "off",
        }
        with pytest.raises(RuntimeError) as refused:
            ServerProcess(home, env=settings).start(timeout_s=90)
        assert "could not join the Ray cluster" in str(refused.value)
        server = ServerProcess(
            home, env={**settings, "OPENARTS_RAY_AUTH_TOKEN_FILE": str(token)}
        ).start(timeout_s=90)
        try:
            sdk = sdk_of(server)
            put_code(server, RENDEZVOUS)
            job_id = submit(sdk, "secured")
            assert wait_phase(sdk, job_id, "Completed", "Failed").status.phase == "Completed"
            assert token.read_text() not in server.log()
        finally:
            server.close()
