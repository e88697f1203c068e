"""Models of type Image that are container images, as ModelArts imports them: the image
pushed to the platform's registry, a model whose source_location names it (copied and
pinned by default, run from its tag with source_copy false), a service whose replicas
run the image's own command on port 8080 as uid 1000, reached through the gateway; a
server that ends ends its replica; another project's image is refused."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.images import base_image, build, require_tools, untag_registry
from openarts.testing.server import ServerProcess
from tests.e2e.conftest import signed_call
from tests.e2e.test_registry import SWR, _admin, _cli, _login, _podman, _registry, with_registry
from tests.e2e.test_services import FLAVORS, SPEC, service, until
from tests.sandbox.test_a_notebook_sees_only_its_own import second_project_member

pytestmark = pytest.mark.e2e

require_tools({"docker-registry": "docker-registry"})

MODELS = "/v1/{project_id}/models"
SERVICES = "/v1/{project_id}/services"
SERVE = """
import http.server, json, os
ANSWER = open("/srv/answer").read().strip()
PORT = int(os.environ["PORT"])

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200 if self.path == "/health" else 404, {"status": "OK"})

    def do_POST(self):
        got = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
        self._send(200, {
            "answer": ANSWER, "got": got, "uid": os.getuid(), "port": PORT,
            "model_name": os.environ.get("MODEL_NAME"), "cwd": os.getcwd(),
        })

print("serving on", PORT, flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
"""


def _build(tmp: Path, answer: str) -> str:
    """A model server image over the base image: its CMD serves on $PORT."""
    folder = tmp / f"build-{answer}"
    folder.mkdir()
    (folder / "serve.py").write_text(SERVE)
    (folder / "answer").write_text(answer)
    (folder / "Containerfile").write_text(
        textwrap.dedent(
            f"""\
            FROM {base_image()}
            COPY serve.py answer /srv/
            WORKDIR /srv
            CMD ["python3", "serve.py"]
            """
        )
    )
    return build(folder, f"localhost/openarts-test/model-server:{answer}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base_image()
    with with_registry(tmp_path_factory.mktemp("image-models") / "home", FLAVORS) as process:
        yield process


def _push(server: ServerProcess, local: str, name: str) -> None:
    keys, project_id = _admin(server)
    _cli(server, keys, project_id, "image", "push", local, name)


def _model(server: ServerProcess, version: str, **fields: Any) -> dict[str, Any]:
    created = signed_call(
        server,
        "POST",
        MODELS,
        {"model_name": "from-image", "model_version": version, "model_type": "Image", **fields},
    )
    assert created.status_code == 200, created.text
    model_id = created.json()["model_id"]

    def settled() -> dict[str, Any] | None:
        shown = signed_call(server, "GET", f"{MODELS}/{model_id}").json()
        return shown if shown["model_status"] in ("published", "failed") else None

    return until(settled, f"model {model_id} to be published", 120)


def _deploy(server: ServerProcess, name: str, model_id: str) -> str:
    deployed = signed_call(
        server,
        "POST",
        SERVICES,
        {
            "service_name": name,
            "infer_type": "real-time",
            "config": [
                {"model_id": model_id, "weight": 100, "specification": SPEC, "instance_count": 1}
            ],
        },
    )
    assert deployed.status_code == 200, deployed.text
    return str(deployed.json()["service_id"])


def _running(server: ServerProcess, service_id: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        shown = service(server, service_id)
        assert shown["status"] != "failed", shown
        return shown if shown["status"] == "running" else None

    return until(reached, f"service {service_id} to run", 180)


def _ask(server: ServerProcess, service_id: str) -> dict[str, Any]:
    answer = signed_call(server, "POST", f"/v1/infers/{service_id}/", {"x": [1, 2]})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _events(server: ServerProcess, service_id: str) -> list[str]:
    events = signed_call(server, "GET", f"{SERVICES}/{service_id}/events").json()
    return [str(e["event_info"]) for e in events["events"]]


def _processes(service_id: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["environ", "status"]):
        environ = process.info["environ"] or {}
        if (
            environ.get("OPENARTS_SERVICE_ID") == service_id
            and process.info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(process)
    return found


def _forget(*images: str) -> None:
    """The images gone from this node, by ID (every name they have: the build's, a
    push's, an earlier run's pulled copy)."""
    ids = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", *images],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert ids, images
    subprocess.run(["podman", "rmi", "--force", *ids], capture_output=True, check=False)


def _copy_exists(server: ServerProcess, model_id: str) -> bool:
    # What the registry keeps of the platform's copy (its own storage: no user may ask).
    revisions = (
        server.home
        / "registry/data/docker/registry/v2/repositories/openarts-platform"
        / f"model-{model_id}/_manifests/revisions/sha256"
    )
    return revisions.is_dir() and any((r / "link").exists() for r in revisions.iterdir())


def test_a_model_from_an_image_is_copied_pinned_and_served(
    server: ServerProcess, tmp_path: Path
) -> None:
    _push(server, _build(tmp_path, "first"), "server:1")
    copied = _model(server, "1.0.0", source_location=f"{SWR}/default/server:1")
    assert copied["model_status"] == "published", copied
    assert copied["source_copy"] == "true"
    assert copied["source_location"] == f"{SWR}/default/server:1"
    assert copied["model_size"] > 50_000_000  # bytes: a Debian with Python
    assert _copy_exists(server, copied["model_id"])

    # The tag moves on; a model that runs the tag itself (no copy) follows it.
    _push(server, _build(tmp_path, "second"), "server:1")
    tagged = _model(server, "2.0.0", source_location=f"{SWR}/default/server:1", source_copy="false")
    assert tagged["model_status"] == "published", tagged
    assert tagged["source_copy"] == "false"

    # The node holds neither image: its replicas' starts pull them.
    _forget(
        "localhost/openarts-test/model-server:first", "localhost/openarts-test/model-server:second"
    )
    untag_registry(_registry(server))
    pinned_id = _deploy(server, "pinned", copied["model_id"])
    moving_id = _deploy(server, "moving", tagged["model_id"])
    _running(server, pinned_id)
    _running(server, moving_id)
    pinned = _ask(server, pinned_id)
    # The image's own command, in its WORKDIR, as ModelArts runs it: uid 1000, port 8080.
    assert pinned == {
        "answer": "first",
        "got": {"x": [1, 2]},
        "uid": 1000,
        "port": 8080,
        "model_name": "from-image",
        "cwd": "/srv",
    }
    assert _ask(server, moving_id)["answer"] == "second"
    events = _events(server, pinned_id)
    assert any("pulling image" in e for e in events), events
    assert any("pulled" in e and " ms" in e for e in events), events

    # Users never reach the platform's copies, not even the image's own project.
    keys, _ = _admin(server)
    auth = tmp_path / "auth.json"
    registry = _registry(server)
    assert _login(auth, registry, keys.access_key, keys.secret_key).returncode == 0
    pull = _podman(
        auth,
        "pull",
        "--tls-verify=false",
        f"{registry}/openarts-platform/model-{copied['model_id']}:published",
    )
    assert pull.returncode != 0, pull.stdout

    # The image's server runs under its service's ID; deleted, the service's processes
    # end, and the model's copy goes with the model.
    assert _processes(pinned_id) and _processes(moving_id)
    for service_id in (pinned_id, moving_id):
        gone = signed_call(server, "DELETE", f"{SERVICES}/{service_id}")
        assert gone.status_code == 200, gone.text

        def ended(service_id: str = service_id) -> bool:
            answer = signed_call(server, "GET", f"{SERVICES}/{service_id}")
            return answer.status_code == 404 and not _processes(service_id)

        until(ended, "the service and its processes to go")
    deleted = signed_call(server, "DELETE", f"{MODELS}/{copied['model_id']}").json()
    assert deleted["delete_success_list"] == [copied["model_id"]], deleted
    until(lambda: not _copy_exists(server, copied["model_id"]), "the copy to go", 30)


def test_a_server_that_ends_ends_its_replica(server: ServerProcess, tmp_path: Path) -> None:
    local = _build(tmp_path, "third")
    _push(server, local, "server:3")
    for version, cmd, said in (
        ("3.0.0", "python3 -c 'raise SystemExit(3)'", "(task 0 failed: exit code 3)"),
        ("3.0.1", "true", "task 0 exited with status 0 while the replica's other task ran"),
    ):
        # As a user of the CLI imports one.
        keys, project_id = _admin(server)
        model = _cli(
            server,
            keys,
            project_id,
            *("model", "create", "--name", "ends", "--version", version, "--model-type"),
            *("Image", "--source-location", f"{SWR}/default/server:3", "--source-copy", "false"),
            *("--cmd", cmd, "--wait"),
        )
        assert model["model_status"] == "published", model
        assert model["source_copy"] == "false"
        service_id = _deploy(server, f"ends-{version.replace('.', '-')}", model["model_id"])

        def told(service_id: str = service_id, said: str = said) -> list[str] | None:
            events = _events(server, service_id)
            return events if any(said in e for e in events) else None

        events = until(told, f"the replica of {cmd!r} to end", 120)
        assert service(server, service_id)["status"] != "running", events
        signed_call(server, "DELETE", f"{SERVICES}/{service_id}")
    _forget(local)


def test_images_not_the_projects_own_are_refused(server: ServerProcess, tmp_path: Path) -> None:
    _push(server, base_image(), "plain:1")
    project_id, ak, sk = second_project_member(server)
    theirs = SignedClient(server.endpoint, project_id, AkSk(ak, sk))
    body = {"model_name": "theirs", "model_version": "1.0.0", "model_type": "Image"}
    for location, code, said in (
        (f"{SWR}/default/plain:1", "ModelArts.6797", "elsewhere/"),
        ("default/plain:1", "ModelArts.3017", "names no registry host"),
        ("-rm:1", "ModelArts.3017", "container image reference"),
    ):
        refused = theirs.request("POST", MODELS, {**body, "source_location": location})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error_code"] == code, refused.text
        assert said in refused.json()["error_msg"], refused.text
    listed = theirs.request("GET", MODELS)
    assert listed.json()["total_count"] == 0
    # An image missing from the registry fails the model, saying so.
    missing = _model(server, "9.0.0", source_location=f"{SWR}/default/absent:1")
    assert missing["model_status"] == "failed"
    assert "has no default/absent:1" in missing["failed_reason"], missing
