"""The console has an origin of its own: the API's port sends /console there, and the
console's port serves nothing else (no notebook proxy, no API, no inference gateway)."""

from __future__ import annotations

import httpx
import pytest

from openarts.testing.server import ServerProcess

pytestmark = pytest.mark.e2e


def test_console_is_served_on_its_own_port_only(server: ServerProcess) -> None:
    moved = httpx.get(f"{server.endpoint}/console/notebooks?x=1", follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"] == f"{server.console_endpoint}/console/notebooks?x=1"

    signin = httpx.get(f"{server.endpoint}/console/login", follow_redirects=True)
    assert signin.status_code == 200 and str(signin.url).startswith(server.console_endpoint)
    assert "password" in signin.text.lower()

    for path in ("/health", "/v1/p/notebooks", "/notebook/x/lab", "/v1/infers/x/"):
        refused = httpx.get(f"{server.console_endpoint}{path}")
        assert refused.status_code == 404, path
        assert "web console only" in refused.text
    root = httpx.get(f"{server.console_endpoint}/", follow_redirects=False)
    assert root.headers["location"] == "/console/"
    # The API's own routes stay where they were.
    assert httpx.get(f"{server.endpoint}/health").status_code == 200
