"""Property-based requests from /openapi.json against a real server: never a 500.

Bounded: a fixed number of examples per operation, no deadline-driven loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from openarts.testing.server import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("schemathesis") / "home"
    server = ServerProcess(home, env={"OPENARTS_ADMIN_PASSWORD": "schema-pw"}).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def token(live_server: ServerProcess) -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "admin", "password": "schema-pw"}},
            },
            "scope": {"project": {"name": "default"}},
        }
    }
    issued = requests.post(f"{live_server.endpoint}/v3/auth/tokens", json=body, timeout=10)
    assert issued.status_code == 201, issued.text
    return issued.headers["X-Subject-Token"]


def test_no_request_makes_the_server_fail(live_server: ServerProcess, token: str) -> None:
    # Driven by hand rather than through schemathesis' pytest plugin, which does not load
    # under this pytest version.
    schema = schemathesis.openapi.from_url(f"{live_server.endpoint}/openapi.json")
    project_id = live_server.credentials()["Project Id"]
    checked = []
    statuses: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def exercise(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            if case.path_parameters and "project_id" in case.path_parameters:
                case.path_parameters["project_id"] = project_id
            response = case.call(
                base_url=live_server.endpoint, headers={"X-Auth-Token": token}, timeout=10
            )
            case.validate_response(response, checks=[not_a_server_error])
            assert response.status_code != 422, response.text
            statuses.append(response.status_code)

        exercise()
        checked.append(operation.label)
    assert len(checked) >= 9, checked
    # Both accepted and rejected requests were made, so the handlers themselves ran.
    assert len(statuses) > 100
    assert any(code < 300 for code in statuses) and any(code == 400 for code in statuses)
