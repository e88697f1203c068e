"""A job's pip-requirements.txt (ModelArts' documented way to add packages to a preset
engine) is installed over the engine before the boot file runs, held to the engine's own
packages, and shared by the jobs that ask for the same."""

from __future__ import annotations

import pytest

from tests.api.test_training import (
    IRIS,
    api,  # noqa: F401  (the fixture)
    create,
    events,
    job_body,
    log_of,
    put,
    wait_for,
)
from tests.conftest import Api

# A package the server's environment does not hold (the test checks), small and pure.
ADDED = "tabulate==0.9.0"
USES_IT = """
import tabulate
print(tabulate.tabulate([["iris", 3]], headers=["data", "classes"]))
print("tabulate from", tabulate.__file__)
"""


def _not_in_the_servers_environment() -> None:
    try:
        import tabulate  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return
    pytest.skip("tabulate is in the server's environment: the test would prove nothing")


# What this test checks does not depend on the database: one dialect is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_pip_requirements_are_installed_before_the_boot_file_runs(api: Api) -> None:  # noqa: F811
    _not_in_the_servers_environment()
    await put(api, "code/train.py", USES_IT)
    await put(api, "code/pip-requirements.txt", f"# what train.py needs\n{ADDED}\n")
    await put(api, "data/iris.csv", IRIS)
    first = (await create(api, job_body("first")))["metadata"]["id"]
    job = await wait_for(api, first, "Completed", "Failed", within_s=240)
    assert job["status"]["phase"] == "Completed", job["status"]
    log = await log_of(api, first, "worker-0")
    assert "iris" in log and "classes" in log
    said = await events(api, first)
    print("\n".join(said))
    assert any("installing the packages of pip-requirements.txt" in m for m in said)
    assert any("pip-requirements.txt: ready" in m for m in said)

    # The same file again: the environment made for the first is used as it is.
    second = (await create(api, job_body("second")))["metadata"]["id"]
    job = await wait_for(api, second, "Completed", "Failed", within_s=120)
    assert job["status"]["phase"] == "Completed", job["status"]
    said = await events(api, second)
    assert not any("installing the packages" in m for m in said)
    assert any("pip-requirements.txt: ready" in m for m in said)


# What this test checks does not depend on the database: one dialect is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_requirement_against_the_engines_own_packages_fails_the_job_saying_so(
    api: Api,  # noqa: F811
) -> None:
    # The built-in engine holds the server's packages, NumPy among them; asking for
    # another NumPy would replace it under the code that needs it.
    await put(api, "code/train.py", "print('never runs')\n")
    await put(api, "code/requirements.txt", "numpy==1.21.0\n")
    await put(api, "data/iris.csv", IRIS)
    job_id = (await create(api, job_body("conflict")))["metadata"]["id"]
    job = await wait_for(api, job_id, "Completed", "Failed", within_s=240)
    assert job["status"]["phase"] == "Failed", job["status"]
    status = str(job["status"])
    print(status)
    assert "requirements.txt could not be installed" in status
    assert "numpy" in status
    said = await events(api, job_id)
    assert any("requirements.txt:" in m and "numpy" in m for m in said)
