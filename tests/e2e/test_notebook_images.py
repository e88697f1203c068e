"""Notebook instances on custom container images, as ModelArts runs them: an image with
JupyterLab in its system, pushed to the platform's registry and registered for
notebooks, serves the instance with its own Jupyter, kernel and terminal as ma-user in
the sandbox, reached through the platform's proxy; an image without JupyterLab fails
the start saying so; saving such an instance is refused with the reason."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huaweicloudsdkmodelarts.v1 import (
    CreateImageRequest,
    ImageCreateReq,
    ImageRegRequest,
    ModelArtsClient,
    RegisterImageRequest,
    ShowImageRequest,
    ShowNotebookRequest,
    StopNotebookRequest,
)

from openarts.testing.clients import SignedClient
from openarts.testing.images import base_image, build, notebook_image, require_tools
from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client, signed_call
from tests.e2e.test_registry import SWR, _admin, _cli, _registry, with_registry
from tests.e2e.test_sdk_notebooks import FLAVORS, create, run_code, wait_status
from tests.sandbox.test_a_notebook_sees_only_its_own import in_terminal
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

require_tools({"docker-registry": "docker-registry"})

SHOW = """
import json, os, sys, pathlib
pathlib.Path("/home/ma-user/work/kept.txt").write_text("kept")
print(json.dumps({
    "uid": os.getuid(),
    "python": sys.executable,
    "jupyter": os.path.exists("/usr/local/bin/jupyter-lab"),
    "cwd": os.getcwd(),
}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    notebook_image()
    with with_registry(tmp_path_factory.mktemp("notebook-images") / "home", FLAVORS) as process:
        yield process


def _sdk(server: ServerProcess) -> ModelArtsClient:
    keys, project_id = _admin(server)
    return sdk_client(server.endpoint, keys.access_key, keys.secret_key, project_id)


def _registered(server: ServerProcess, local: str, name: str) -> str:
    """``local`` pushed as ``name`` and registered for notebooks: the image's ID."""
    keys, project_id = _admin(server)
    _cli(server, keys, project_id, "image", "push", local, name)
    made = _sdk(server).register_image(
        RegisterImageRequest(
            body=ImageRegRequest(
                swr_path=f"{SWR}/default/{name}", service_type="DEV", services=["NOTEBOOK"]
            )
        )
    )
    return str(made.id)


def _events(server: ServerProcess, name: str) -> list[str]:
    keys, project_id = _admin(server)
    client = SignedClient(server.endpoint, project_id, keys)
    answer = client.request("GET", f"/v1/{{project_id}}/events?resource=notebook&name={name}")
    assert answer.status_code == 200, answer.text
    return [str(e["message"]) for e in answer.json()["items"]]


def _with_home(tmp: Path) -> str:
    """The notebook image with software in /home/ma-user, as ModelArts' images keep
    conda there."""
    (tmp / "tools").mkdir()
    (tmp / "tools" / "hello.txt").write_text("from the image\n")
    (tmp / "Containerfile").write_text(
        f"FROM {notebook_image()}\nCOPY --chown=1000:100 tools /home/ma-user/tools/\n"
    )
    return build(tmp, "localhost/openarts-test/jupyter-home:1")


def test_an_instance_runs_the_images_own_jupyter(server: ServerProcess, tmp_path: Path) -> None:
    sdk = _sdk(server)
    image_id = _registered(server, _with_home(tmp_path), "jupyter:1")
    # The node holds the image by its local name only: the start pulls it (its layers
    # are here, so quickly) and says so.
    subprocess.run(
        ["podman", "rmi", f"{_registry(server)}/default/jupyter:1"],
        capture_output=True,
        check=False,
    )
    notebook_id = create(sdk, "on-image", image_id)
    steps: set[str] = set()
    deadline = time.monotonic() + 180
    while (shown := sdk.show_notebook(ShowNotebookRequest(id=notebook_id))).status != "RUNNING":
        assert shown.status in ("CREATING", "STARTING"), shown.fail_reason
        assert time.monotonic() < deadline, shown.status
        steps |= {step.description for step in shown.action_progress or []}
        time.sleep(0.05)
    running = shown
    assert running.image.id == image_id
    base, token = running.url.removesuffix("/lab"), running.token
    shown = json.loads(asyncio.run(run_code(base, token, SHOW)))
    # The image's own Python and Jupyter, as ma-user, in the instance's work folder.
    assert shown == {
        "uid": 1000,
        "python": "/usr/bin/python3",
        "jupyter": True,
        "cwd": "/home/ma-user/work",
    }
    said = asyncio.run(
        in_terminal(
            base,
            token,
            "id -u; ls /home/ma-user/work; echo mine >> ~/tools/hello.txt; "
            "ln -s ../tools/hello.txt ~/.hello-link; cat ~/tools/hello.txt",
        )
    )
    assert "1000" in said and "kept.txt" in said, said
    # Its home began as the image's (and is the user's to change).
    assert "from the image" in said and "mine" in said, said
    events = _events(server, "on-image")
    assert any(e.startswith(f"pulling image {SWR}/default/jupyter:1") for e in events), events
    assert any(re.search(r"jupyter:1 pulled( on node \S+)? in \d+ ms$", e) for e in events), events
    # The start's last step (its home made from the image's) said so while Jupyter came up.
    copying = "Initialize the instance: copying the image's /home/ma-user into the instance's home"
    assert copying in steps, steps

    # Object storage mounts into it as into any instance (read from its kernel).
    admin_s3(server).create_bucket(Bucket="nb-image-data")
    admin_s3(server).put_object(Bucket="nb-image-data", Key="sets/a.csv", Body=b"x,y\n1,2\n")
    storage = f"/v1/{{project_id}}/notebooks/{notebook_id}/storage"
    attached = signed_call(
        server,
        "POST",
        storage,
        {"category": "OBS", "uri": "obs://nb-image-data/sets/", "mount_path": "/data/sets/"},
    )
    assert attached.status_code == 200, attached.text
    mount = f"{storage}/{attached.json()['id']}"
    deadline = time.monotonic() + 30
    while (state := signed_call(server, "GET", mount).json())["status"] != "MOUNTED":
        assert state["status"] == "MOUNTING" and time.monotonic() < deadline, state
        time.sleep(0.2)
    code = "print(open('data/sets/a.csv').read().splitlines()[1])"
    assert asyncio.run(run_code(base, token, code)) == "1,2"

    # Saved as an image: a layer of its home (not its work folder) over its image, pushed
    # to the project's namespace in the registry; an instance on it starts from that home.
    saved = sdk.create_image(
        CreateImageRequest(id=notebook_id, body=ImageCreateReq(name="saved", tag="v1"))
    )
    assert saved.swr_path == f"{SWR}/default/saved:v1", saved
    deadline = time.monotonic() + 120
    while (image := sdk.show_image(ShowImageRequest(id=saved.id))).status != "ACTIVE":
        assert image.status == "CREATING", image.status_message
        assert time.monotonic() < deadline, image.status_message
        time.sleep(0.2)
    assert image.size > 0
    wait_status(sdk, notebook_id, "RUNNING")
    second = create(sdk, "from-saved", saved.id)
    again = wait_status(sdk, second, "RUNNING", timeout_s=180)
    said = asyncio.run(
        in_terminal(
            again.url.removesuffix("/lab"),
            again.token,
            "cat ~/tools/hello.txt; readlink ~/.hello-link",
        )
    )
    lines = [line.strip() for line in said.splitlines()]
    assert "mine" in lines and "from the image" in lines, said
    # A link's target is kept as the user wrote it.
    assert "../tools/hello.txt" in lines, said
    # The image itself: the home, never the work folder (ModelArts keeps that out).
    saved_ref = f"{_registry(server)}/default/saved:v1"
    mounted = subprocess.run(
        ["podman", "image", "mount", saved_ref], capture_output=True, text=True, check=False
    )
    assert mounted.returncode == 0, mounted.stderr
    home = Path(mounted.stdout.strip()) / "home" / "ma-user"
    assert (home / "tools" / "hello.txt").read_text() == "from the image\nmine\n"
    assert not (home / "work").exists()
    assert (home / "tools" / "hello.txt").stat().st_uid == 1000
    sdk.stop_notebook(StopNotebookRequest(id=second))

    # Its work folder survives stop and start, on the image again.
    sdk.stop_notebook(StopNotebookRequest(id=notebook_id))
    wait_status(sdk, notebook_id, "STOPPED")
    assert (server.home / "notebooks" / notebook_id / "home" / "work" / "kept.txt").exists()


def test_an_image_without_jupyter_fails_the_start_saying_so(server: ServerProcess) -> None:
    sdk = _sdk(server)
    image_id = _registered(server, base_image(), "plain:1")
    notebook_id = create(sdk, "no-jupyter", image_id)
    deadline = time.monotonic() + 180
    while True:
        shown: Any = sdk.show_notebook(ShowNotebookRequest(id=notebook_id))
        if shown.status in ("CREATE_FAILED", "START_FAILED", "ERROR"):
            break
        assert shown.status != "RUNNING", shown
        assert time.monotonic() < deadline, shown.status
        time.sleep(0.2)
    assert "jupyter-lab" in (shown.fail_reason or ""), shown.fail_reason
