"""What the platform writes into a registry, against a small in-memory one that speaks
the distribution API: a copy across repositories (blobs mounted, the manifest as it is),
a registry that will not mount (the upload it began is cancelled, the copy fails saying
so), and an image extended with a layer (the configuration's diff_ids and history, the
layer's media type following the manifest's)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openarts.backends import registry_client
from openarts.backends.registry_client import (
    Credentials,
    Layer,
    RegistryAnswer,
    RegistryClient,
)

DOCKER = "application/vnd.docker.distribution.manifest.v2+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    """Repositories' blobs and manifests, as a registry keeps them."""

    def __init__(self, mounts: bool = True) -> None:
        self.blobs: dict[str, dict[str, bytes]] = {}
        self.manifests: dict[str, dict[str, tuple[bytes, str]]] = {}
        self.mounts = mounts
        self.cancelled: list[str] = []

    def push(self, repository: str, tag: str, layers: list[bytes], history: bool = True) -> str:
        blobs = self.blobs.setdefault(repository, {})
        shape: dict[str, object] = {
            "architecture": "amd64",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:x"]},
        }
        if history:
            shape["history"] = [{"created_by": "the base"}]
        config = json.dumps(shape).encode()
        blobs[_digest(config)] = config
        for layer in layers:
            blobs[_digest(layer)] = layer
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER,
                "config": {"mediaType": "x", "digest": _digest(config), "size": len(config)},
                "layers": [{"digest": _digest(x), "size": len(x)} for x in layers],
            }
        ).encode()
        self.manifests.setdefault(repository, {})[tag] = (manifest, DOCKER)
        self.manifests[repository][_digest(manifest)] = (manifest, DOCKER)
        return _digest(manifest)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v2/")
        if "/blobs/uploads/" in path:
            repository = path.split("/blobs/uploads/")[0]
            upload = path.split("/blobs/uploads/")[1]
            if request.method == "POST" and "mount" in request.url.params:
                blob, source = request.url.params["mount"], request.url.params["from"]
                if self.mounts and blob in self.blobs.get(source, {}):
                    self.blobs.setdefault(repository, {})[blob] = self.blobs[source][blob]
                    return httpx.Response(201)
                return httpx.Response(
                    202, headers={"Location": f"/v2/{repository}/blobs/uploads/u1"}
                )
            if request.method == "POST":
                return httpx.Response(
                    202, headers={"Location": f"/v2/{repository}/blobs/uploads/u2?state=s"}
                )
            if request.method == "DELETE":
                self.cancelled.append(upload)
                return httpx.Response(204)
            if request.method == "PUT":
                body = request.read()
                digest = request.url.params["digest"]
                assert _digest(body) == digest and request.url.params["state"] == "s"
                self.blobs.setdefault(repository, {})[digest] = body
                return httpx.Response(201)
        found_path = re.fullmatch(r"(.+)/(blobs|manifests)/([^/]+)", path)
        assert found_path is not None, path
        repository, kind, reference = found_path.groups()
        if kind == "blobs":
            found = self.blobs.get(repository, {}).get(reference)
            return httpx.Response(200, content=found) if found is not None else httpx.Response(404)
        if request.method == "PUT":
            body = request.read()
            media = request.headers["content-type"]
            self.manifests.setdefault(repository, {})[reference] = (body, media)
            self.manifests[repository][_digest(body)] = (body, media)
            return httpx.Response(201, headers={"Docker-Content-Digest": _digest(body)})
        held = self.manifests.get(repository, {}).get(reference)
        if held is None:
            return httpx.Response(404)
        return httpx.Response(
            200,
            content=held[0],
            headers={"Content-Type": held[1], "Docker-Content-Digest": _digest(held[0])},
        )


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    kept = Registry()

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(kept.handle))

    monkeypatch.setattr(registry_client, "_client", client)
    yield kept


def _client() -> RegistryClient:
    return RegistryClient("http://registry.test", Credentials(bearer="token"))


async def test_a_copy_mounts_the_blobs_and_puts_the_manifest_as_it_is(registry: Registry) -> None:
    pinned = registry.push("team/app", "1", [b"layer-one", b"layer-two"])
    digest = await _client().copy("team/app", "1", "openarts-platform/model-1", "published")
    assert digest == pinned
    copied = registry.manifests["openarts-platform/model-1"]["published"]
    assert copied == registry.manifests["team/app"]["1"]
    assert set(registry.blobs["openarts-platform/model-1"]) == set(registry.blobs["team/app"])


async def test_a_registry_that_will_not_mount_fails_the_copy_and_keeps_no_upload(
    registry: Registry,
) -> None:
    registry.push("team/app", "1", [b"layer-one"])
    registry.mounts = False
    with pytest.raises(RegistryAnswer, match="did not mount"):
        await _client().copy("team/app", "1", "openarts-platform/model-1", "published")
    assert registry.cancelled == ["u1"]
    assert "openarts-platform/model-1" not in registry.manifests


async def test_an_image_is_extended_with_a_layer(registry: Registry, tmp_path: Path) -> None:
    registry.push("team/lab", "1", [b"base-layer"])
    raw = b"home/ma-user/.bashrc contents as a tar would hold them"
    packed = tmp_path / "layer.tar.gz"
    packed.write_bytes(gzip.compress(raw, mtime=0))
    layer = Layer(
        path=packed,
        digest=_digest(packed.read_bytes()),
        size=packed.stat().st_size,
        diff_id=_digest(raw),
        note="saved from notebook n1",
        created="2026-12-08T04:00:00Z",
    )
    digest = await _client().extend("team/lab", "1", "team/saved", "v1", layer)
    body, media = registry.manifests["team/saved"]["v1"]
    assert digest == _digest(body) and media == DOCKER
    manifest = json.loads(body)
    assert [x["digest"] for x in manifest["layers"]] == [_digest(b"base-layer"), layer.digest]
    assert manifest["layers"][-1]["mediaType"] == registry_client.DOCKER_LAYER
    config = json.loads(registry.blobs["team/saved"][manifest["config"]["digest"]])
    assert config["rootfs"]["diff_ids"] == ["sha256:x", layer.diff_id]
    assert config["history"][-1]["created_by"] == "saved from notebook n1"
    assert registry.blobs["team/saved"][layer.digest] == packed.read_bytes()
    # The base's layer came by a mount, not an upload of its own.
    assert registry.blobs["team/saved"][_digest(b"base-layer")] == b"base-layer"
    assert len(config["history"]) == 2

    # A base without a history gets none (one entry alone would not match its layers).
    registry.push("team/bare", "1", [b"base-layer"], history=False)
    await _client().extend("team/bare", "1", "team/saved-bare", "v1", layer)
    bare = json.loads(registry.manifests["team/saved-bare"]["v1"][0])
    assert "history" not in json.loads(registry.blobs["team/saved-bare"][bare["config"]["digest"]])
