"""Notebook instances and images through the API, in process: bad inputs are refused
with the reference's errors and change nothing; the lifecycle and its refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openarts.testing.factories import add_user

from ..conftest import Api, make_settings, start_api

FLAVOR = "test.notebook.small"
FLAVORS = f"""
flavors:
  - name: {FLAVOR}
    vcpus: 0.5
    memory_gib: 1
    uses: [notebook]
  - name: test.notebook.other
    vcpus: 0.25
    memory_gib: 1
    uses: [notebook]
  - name: test.training.only
    vcpus: 0.25
    memory_gib: 1
    uses: [training]
"""
NOTEBOOKS = "/v1/{project_id}/notebooks"


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[Api]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    settings = make_settings(home, database_url, reconcile_interval_s=0.5)
    async for started in start_api(settings):
        yield started


async def builtin_image(api: Api) -> str:
    listed = await api.call("GET", "/v1/{project_id}/images", params={"type": "BUILD_IN"})
    assert listed.status_code == 200, listed.text
    # The server's own environment (the PyTorch preset would install PyTorch first).
    images = listed.json()["data"]
    return str(next(i["id"] for i in images if i["name"].startswith("python")))


def body(image_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": "nb",
        "flavor": FLAVOR,
        "image_id": image_id,
        "volume": {"category": "EVS", "ownership": "MANAGED"},
        **changes,
    }


async def wait_for(api: Api, notebook_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        shown = (await api.call("GET", f"{NOTEBOOKS}/{notebook_id}")).json()
        if shown["status"] == status:
            return dict(shown)
        assert shown["status"] not in ("CREATE_FAILED", "START_FAILED", "ERROR"), shown
        assert time.monotonic() < deadline, shown["status"]
        await asyncio.sleep(0.2)


async def count(api: Api) -> int:
    return int((await api.call("GET", NOTEBOOKS)).json()["total"])


async def test_bad_creations_are_refused_and_change_nothing(api: Api) -> None:
    image = await builtin_image(api)
    registered = await api.call(
        "POST",
        "/v1/{project_id}/images",
        json={"swr_path": "swr.example.com/team/trainer:1.0", "service_type": "TRAIN"},
    )
    assert registered.status_code == 200, registered.text
    container = await api.call(
        "POST",
        "/v1/{project_id}/images",
        json={"swr_path": "swr.example.com/team/devbox:1.0", "service_type": "DEV"},
    )
    cases = [
        (body("8c9e1f3a-0000-4000-8000-000000000000"), "ModelArts.6797"),
        (body(image, flavor="no.such.flavor"), "ModelArts.6323"),
        (body(image, flavor="test.training.only"), "ModelArts.6323"),
        (body(registered.json()["id"]), "ModelArts.6336"),
        (body(image, lease={"duration": 300 * 3_600_000, "type": "timing"}), "ModelArts.6349"),
        (body(image, duration=1000), "ModelArts.6349"),
    ]
    for sent, code in cases:
        refused = await api.call("POST", NOTEBOOKS, json=sent)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error_code"] == code, (sent, refused.text)
    # A container image for notebooks, where the platform cannot run images: refused,
    # saying why (where it can, the image's own Jupyter serves the instance).
    api.platform.api.notebooks.images_unavailable = "no podman: container images are not run"
    refused = await api.call("POST", NOTEBOOKS, json=body(container.json()["id"]))
    assert refused.status_code == 400 and refused.json()["error_code"] == "ModelArts.6336"
    assert "is a container image" in refused.text and "no podman" in refused.text
    bad_name = await api.call("POST", NOTEBOOKS, json=body(image, name="no spaces"))
    assert bad_name.status_code == 400
    assert await count(api) == 0


async def test_a_user_without_an_authorization_cannot_create_instances(api: Api) -> None:
    user = await add_user(api.platform.db, api.platform.box, "newcomer", projects=[api.project_id])
    refused = await api.call("POST", NOTEBOOKS, json=body(await builtin_image(api)), keys=user.keys)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error_code"] == "ModelArts.2785"
    assert await count(api) == 0


async def test_a_running_instance_refuses_what_it_cannot_do(api: Api) -> None:
    created = await api.call("POST", NOTEBOOKS, json=body(await builtin_image(api)))
    assert created.status_code == 200, created.text
    notebook = created.json()
    assert notebook["status"] == "CREATING" and notebook["token"]
    assert notebook["url"].endswith(f"/notebook/{notebook['id']}/lab")
    await wait_for(api, notebook["id"], "RUNNING")
    path = f"{NOTEBOOKS}/{notebook['id']}"

    again = await api.call("POST", f"{path}/start")
    assert again.json()["error_code"] == "ModelArts.6305"
    switch = await api.call("PUT", path, json={"flavor": "test.notebook.other"})
    assert switch.json()["error_code"] == "ModelArts.6347"
    too_long = await api.call("PATCH", f"{path}/lease", json={"duration": 400 * 3_600_000})
    assert too_long.json()["error_code"] == "ModelArts.6349"
    outside = await api.call(
        "POST", f"{path}/storage", json={"uri": "obs://b/x/", "mount_path": "/home/x/"}
    )
    assert outside.status_code == 400, outside.text
    renamed = await api.call("PUT", path, json={"name": "renamed", "description": "kept"})
    assert renamed.json()["name"] == "renamed"

    flavors = (await api.call("GET", f"{path}/flavors")).json()
    assert [f["id"] for f in flavors["data"]] == ["test.notebook.other"]
    lease = (await api.call("GET", f"{path}/lease")).json()
    assert lease["duration"] == 3_600_000 and lease["enable"] is True

    stopped = await api.call("POST", f"{path}/stop")
    assert stopped.json()["status"] == "STOPPING"
    await wait_for(api, notebook["id"], "STOPPED")
    assert (await api.call("POST", f"{path}/stop")).json()["error_code"] == "ModelArts.6307"
    switched = await api.call("PUT", path, json={"flavor": "test.notebook.other"})
    assert switched.json()["flavor"] == "test.notebook.other", switched.text
    deleted = await api.call("DELETE", path)
    assert deleted.json()["status"] == "DELETING"
    deadline = time.monotonic() + 30
    while (await api.call("GET", path)).status_code != 400:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    assert (await api.call("GET", path)).json()["error_code"] == "ModelArts.6309"


async def test_images_list_group_show_and_delete(api: Api) -> None:
    listed = (await api.call("GET", "/v1/{project_id}/images")).json()
    assert listed["total"] >= 2
    made = await api.call(
        "POST", "/v1/{project_id}/images", json={"swr_path": "swr.example.com/team/devbox:1.0"}
    )
    clash = await api.call(
        "POST", "/v1/{project_id}/images", json={"swr_path": "swr.example.com/team/devbox:1.0"}
    )
    assert clash.json()["error_code"] == "ModelArts.6737"
    groups = (await api.call("GET", "/v1/{project_id}/images/group")).json()
    assert any(g["name"] == "devbox" and g["version_count"] == 1 for g in groups["data"])
    image_id = made.json()["id"]
    assert (await api.call("GET", f"/v1/{{project_id}}/images/{image_id}")).json()["tag"] == "1.0"
    assert (await api.call("DELETE", f"/v1/{{project_id}}/images/{image_id}")).status_code == 200
    gone = await api.call("GET", f"/v1/{{project_id}}/images/{image_id}")
    assert gone.json()["error_code"] == "ModelArts.6797"


async def test_an_instance_being_saved_cannot_be_deleted(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = (await api.call("POST", NOTEBOOKS, json=body(await builtin_image(api)))).json()
    await wait_for(api, created["id"], "RUNNING")
    path = f"{NOTEBOOKS}/{created['id']}"
    # Hold the copy of the layer, so the instance stays SNAPSHOTTING while we try.
    release = asyncio.Event()
    runtime = api.platform.notebook_runtime
    copy_layer = runtime.save_layer

    async def held(image_id: str, notebook_id: str) -> int:
        await release.wait()
        return await copy_layer(image_id, notebook_id)

    monkeypatch.setattr(runtime, "save_layer", held)
    saving = await api.call("POST", f"{path}/create-image", json={"name": "held", "tag": "v1"})
    assert saving.status_code == 200, saving.text
    await wait_for(api, created["id"], "SNAPSHOTTING")
    refused = await api.call("DELETE", path)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error_code"] == "ModelArts.6357"
    assert (await api.call("GET", path)).json()["status"] == "SNAPSHOTTING"

    release.set()
    await wait_for(api, created["id"], "RUNNING")
    image = (await api.call("GET", f"/v1/{{project_id}}/images/{saving.json()['id']}")).json()
    assert image["status"] == "ACTIVE"
    assert (await api.call("DELETE", path)).json()["status"] == "DELETING"
