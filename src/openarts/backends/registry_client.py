"""What the platform asks of its registry over the distribution API: whether an image is
there, its size and architecture (for registering it), and removing a tag's manifest.

It speaks to the platform's own registry with a token the platform mints, and to
another registry with the user name and password the settings give.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

_MANIFESTS = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
_INDEXES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
# OCI's architecture names to ModelArts' enumeration.
ARCHES = {"amd64": "X86_64", "arm64": "AARCH64"}
TIMEOUT_S = 10.0
# A layer may be large (a home with conda in it): its upload has time of its own.
UPLOAD_TIMEOUT_S = 1800.0
CHUNK_BYTES = 1 << 20
MAX_CONFIG_BYTES = 1024 * 1024
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class RegistryAnswer(Exception):
    """The registry could not be asked, or said no; the message says what it said."""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    digest: str
    size_bytes: int
    arch: str  # X86_64, AARCH64, or the image's own word for another


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer to push: its compressed file's digest and size, its uncompressed
    digest (the image's ``diff_ids``), and what the history says made it."""

    path: Path
    digest: str
    size: int
    diff_id: str
    note: str
    created: str

    async def chunks(self) -> AsyncIterator[bytes]:
        with self.path.open("rb") as file:
            while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
                yield chunk


@dataclass(frozen=True, slots=True)
class Credentials:
    """How the client proves itself: a bearer token the platform minted for its own
    registry, or a user name and password for another registry, given as it asks (Basic,
    or traded at its token service for a bearer token, as Docker's clients do)."""

    bearer: str | None = None
    basic: tuple[str, str] | None = None


class RegistryClient:
    def __init__(
        self, base_url: str, credentials: Credentials, scopes: tuple[str, ...] = ()
    ) -> None:
        self.base = base_url.rstrip("/") + "/v2"
        self.credentials = credentials
        # Asked of a token service beside the request's own (a copy across repositories
        # needs one token for both).
        self.scopes = scopes
        self._header = f"Bearer {credentials.bearer}" if credentials.bearer else None

    async def facts(self, repository: str, tag: str) -> ImageFacts | None:
        """The image's facts; None when the registry has no such image."""
        async with _client() as client:
            manifest, digest = await self._manifest(client, repository, tag)
            if manifest is None:
                return None
            if manifest.get("mediaType") in _INDEXES or "manifests" in manifest:
                chosen = _platform_manifest(manifest)
                manifest, digest = await self._manifest(client, repository, chosen)
                if manifest is None:
                    return None
            try:
                config = manifest.get("config") or {}
                layers = manifest.get("layers") or []
                config_size = int(config.get("size", 0))
                size = config_size + sum(int(x.get("size", 0)) for x in layers)
                # A configuration is a few KiB: what claims more is not read.
                if config_size > MAX_CONFIG_BYTES:
                    raise RegistryAnswer(f"{repository}:{tag}'s configuration is not an image's")
                where = f"blobs/{config.get('digest', '')}"
                blob = await self._send(client, "GET", repository, where)
                if blob is None or len(blob.content) > MAX_CONFIG_BYTES:
                    raise RegistryAnswer(f"the registry lacks {repository}:{tag}'s configuration")
                arch = str(json.loads(blob.content).get("architecture") or "amd64")
            except (ValueError, TypeError, AttributeError) as error:
                raise RegistryAnswer(f"{repository}:{tag} is not an image: {error}") from None
            return ImageFacts(digest=digest, size_bytes=size, arch=ARCHES.get(arch, arch[:16]))

    async def tags(self, repository: str) -> list[str]:
        async with _client() as client:
            # One page as large as registries allow (Distribution answers all at once).
            listed = await self._send(client, "GET", repository, "tags/list?n=10000")
        try:
            return [] if listed is None else [str(t) for t in listed.json().get("tags") or []]
        except (ValueError, AttributeError):
            raise RegistryAnswer(f"{repository}'s tags cannot be read") from None

    async def digest(self, repository: str, reference: str) -> str | None:
        """The manifest digest a tag points to; None when there is no such tag."""
        async with _client() as client:
            manifest, digest = await self._manifest(client, repository, reference)
        return None if manifest is None else digest

    async def delete(self, repository: str, digest: str) -> None:
        async with _client() as client:
            await self._send(
                client, "DELETE", repository, f"manifests/{digest}", ok=(202,), actions="delete"
            )

    async def copy(self, source: str, reference: str, target: str, tag: str) -> str:
        """Copy image ``source:reference`` to ``target:tag`` within this registry (an
        index: its linux/amd64 image): its blobs mounted from the source repository, its
        manifest put byte for byte. The copy's digest (the source image's own)."""
        async with _client() as client:
            answer, manifest = await self._image_manifest(client, source, reference)
            try:
                blobs = [str(manifest["config"]["digest"])]
                blobs += [str(layer["digest"]) for layer in manifest.get("layers") or []]
            except (KeyError, TypeError):
                raise RegistryAnswer(f"{source}:{reference} is not an image") from None
            for blob in blobs:
                await self._mount(client, source, target, blob)
            media = answer.headers.get("content-type") or str(manifest.get("mediaType") or "")
            return await self._put_manifest(client, target, tag, answer.content, media)

    async def extend(self, base: str, reference: str, target: str, tag: str, layer: Layer) -> str:
        """Push ``target:tag``: image ``base:reference`` (an index: its linux/amd64
        image) with ``layer`` on top, its history saying ``layer.note``. The base's
        layers are mounted from its repository; the new layer and configuration are
        uploaded. The new image's digest."""
        async with _client() as client:
            answer, manifest = await self._image_manifest(client, base, reference)
            media = answer.headers.get("content-type") or str(manifest.get("mediaType") or "")
            try:
                described = dict(manifest["config"])
                layers = [dict(entry) for entry in manifest.get("layers") or []]
                found = await self._send(client, "GET", base, f"blobs/{described['digest']}")
                if found is None or len(found.content) > MAX_CONFIG_BYTES:
                    raise RegistryAnswer(f"the registry lacks {base}:{reference}'s configuration")
                config = json.loads(found.content)
                config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
                config["rootfs"]["diff_ids"].append(layer.diff_id)
            except (KeyError, TypeError, ValueError, AttributeError):
                raise RegistryAnswer(f"{base}:{reference} is not an image") from None
            if isinstance(config.get("history"), list):
                # One entry per layer where the base keeps a history (none: none added,
                # which would leave it shorter than the layers).
                config["history"].append({"created": layer.created, "created_by": layer.note})
            config["created"] = layer.created
            for entry in layers if base != target else []:
                await self._mount(client, base, target, str(entry["digest"]))
            await self._upload(client, target, layer.digest, layer.size, layer.chunks())
            config_bytes = json.dumps(config, separators=(",", ":")).encode()
            config_digest = _digest_of(config_bytes)

            async def whole() -> AsyncIterator[bytes]:
                yield config_bytes

            await self._upload(client, target, config_digest, len(config_bytes), whole())
            docker = media == DOCKER_MANIFEST
            layers.append(
                {
                    "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                    "digest": layer.digest,
                    "size": layer.size,
                }
            )
            manifest["config"] = {**described, "digest": config_digest, "size": len(config_bytes)}
            manifest["layers"] = layers
            body = json.dumps(manifest, separators=(",", ":")).encode()
            return await self._put_manifest(client, target, tag, body, media)

    async def _put_manifest(
        self, client: httpx.AsyncClient, target: str, tag: str, body: bytes, media: str
    ) -> str:
        """Put a manifest under ``tag``: its digest."""
        put = await self._send(
            client,
            "PUT",
            target,
            f"manifests/{tag}",
            ok=(201,),
            actions="pull,push",
            content=body,
            content_type=media,
        )
        assert put is not None  # a 404 is not among the answers PUT gives
        return put.headers.get("docker-content-digest") or _digest_of(body)

    async def _image_manifest(
        self, client: httpx.AsyncClient, repository: str, reference: str
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """An image's manifest (an index: its linux/amd64 image's), as answered and
        read."""
        answer = await self._send(client, "GET", repository, f"manifests/{reference}")
        if answer is None:
            raise RegistryAnswer(f"the registry has no {repository}:{reference}")
        manifest = _json_of(answer, f"{repository}:{reference}")
        if manifest.get("mediaType") in _INDEXES or "manifests" in manifest:
            chosen = _platform_manifest(manifest)
            answer = await self._send(client, "GET", repository, f"manifests/{chosen}")
            if answer is None:
                raise RegistryAnswer(f"the registry lacks {repository}@{chosen}")
            manifest = _json_of(answer, f"{repository}@{chosen}")
        return answer, manifest

    async def _mount(self, client: httpx.AsyncClient, source: str, target: str, blob: str) -> None:
        mounted = await self._send(
            client,
            "POST",
            target,
            f"blobs/uploads/?mount={blob}&from={source}",
            ok=(201, 202),
            actions="pull,push",
        )
        if mounted is None or mounted.status_code != 201:
            await self._cancel(client, mounted)
            raise RegistryAnswer(
                f"the registry did not mount {blob} from {source} into {target} "
                "(it copies images only between its own repositories)"
            )

    async def _cancel(self, client: httpx.AsyncClient, began: httpx.Response | None) -> None:
        """Cancel an upload the registry began (asked of this registry only: the request
        carries its login)."""
        said = began.headers.get("location", "") if began is not None else ""
        if began is None or not said:
            return
        location = began.url.join(said)
        if _origin(location) == _origin(httpx.URL(self.base)):
            with contextlib.suppress(RegistryAnswer):
                await self._request(client, "DELETE", str(location), self._header)

    async def _upload(
        self,
        client: httpx.AsyncClient,
        target: str,
        digest: str,
        size: int,
        chunks: AsyncIterator[bytes],
    ) -> None:
        """A blob uploaded whole (one PUT after the upload is opened); one the
        repository holds already is not sent again."""
        held = await self._send(client, "HEAD", target, f"blobs/{digest}", actions="pull,push")
        if held is not None:
            return
        began = await self._send(
            client, "POST", target, "blobs/uploads/", ok=(202,), actions="pull,push"
        )
        assert began is not None
        if not began.headers.get("location"):
            raise RegistryAnswer(f"the registry opened no upload for {digest}")
        location = began.url.join(began.headers["location"])
        if _origin(location) != _origin(httpx.URL(self.base)):
            raise RegistryAnswer(f"the registry sent the upload of {digest} elsewhere")
        put = location.copy_merge_params({"digest": digest})
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        if self._header:
            headers["Authorization"] = self._header
        try:
            answer = await client.put(
                put, content=chunks, headers=headers, timeout=UPLOAD_TIMEOUT_S
            )
        except httpx.HTTPError as error:
            raise RegistryAnswer(f"the registry did not take {digest}: {error}") from None
        if answer.status_code != 201:
            raise RegistryAnswer(_said(answer))

    async def _manifest(
        self, client: httpx.AsyncClient, repository: str, reference: str
    ) -> tuple[dict[str, Any] | None, str]:
        answer = await self._send(client, "GET", repository, f"manifests/{reference}")
        if answer is None:
            return None, ""
        try:
            manifest = answer.json()
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict):
            raise RegistryAnswer(f"{repository}:{reference} has no manifest one can read")
        # A registry that does not say the digest: the manifest's own hash is it.
        digest = answer.headers.get("docker-content-digest") or _digest_of(answer.content)
        return manifest, digest

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        repository: str,
        path: str,
        ok: tuple[int, ...] = (200,),
        actions: str = "pull",
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response | None:
        """The registry's answer; None for 404; RegistryAnswer for any other failure.
        Asked for credentials, the client gives them as the registry asks, once."""
        url = f"{self.base}/{repository}/{path}"
        answer = await self._request(client, method, url, self._header, content, content_type)
        if answer.status_code == 401 and self.credentials.bearer is None:
            self._header = await self._authorization(client, answer, repository, actions)
            answer = await self._request(client, method, url, self._header, content, content_type)
        if answer.status_code == 404:
            return None
        if answer.status_code not in ok:
            raise RegistryAnswer(_said(answer))
        return answer

    async def _authorization(
        self, client: httpx.AsyncClient, challenge: httpx.Response, repository: str, actions: str
    ) -> str:
        asked = challenge.headers.get("www-authenticate", "")
        scheme, _, rest = asked.partition(" ")
        basic = self.credentials.basic
        if scheme.lower() == "basic":
            if basic is None:
                raise RegistryAnswer("the registry wants a user name and password; none is set")
            return _basic(*basic)
        if scheme.lower() != "bearer":
            raise RegistryAnswer(_said(challenge))
        said = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        params: dict[str, str | list[str]] = {
            "scope": [f"repository:{repository}:{actions}", *self.scopes]
        }
        if "service" in said:
            params["service"] = said["service"]
        headers = {"Authorization": _basic(*basic)} if basic else {}
        try:
            answer = await client.get(said.get("realm", ""), params=params, headers=headers)
        except httpx.HTTPError as error:
            raise RegistryAnswer(f"the registry's token service did not answer: {error}") from None
        if answer.status_code != 200:
            raise RegistryAnswer(f"the registry's token service said no: {_said(answer)}")
        body = answer.json()
        return f"Bearer {body.get('token') or body.get('access_token')}"

    @staticmethod
    async def _request(
        client: httpx.AsyncClient,
        method: str,
        url: str,
        header: str | None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": header} if header else {}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            return await client.request(
                method, url, headers=headers, content=content, follow_redirects=True
            )
        except httpx.HTTPError as error:
            raise RegistryAnswer(f"the registry did not answer: {error}") from None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _json_of(answer: httpx.Response, what: str) -> dict[str, Any]:
    try:
        manifest = answer.json()
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise RegistryAnswer(f"{what} has no manifest one can read")
    return manifest


def _digest_of(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_S, headers={"Accept": _MANIFESTS})


def _platform_manifest(index: dict[str, Any]) -> str:
    """The digest of an index's linux/amd64 image (the platform's nodes run x86-64), or
    its first when it has none."""
    entries = [e for e in index.get("manifests") or [] if isinstance(e, dict)]
    if not entries:
        raise RegistryAnswer("the image index lists no image")
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return str(entry.get("digest", ""))
    return str(entries[0].get("digest", ""))


def _said(answer: httpx.Response) -> str:
    try:
        errors = answer.json().get("errors") or []
        message = "; ".join(str(e.get("message")) for e in errors) or answer.text
    except ValueError:
        message = answer.text
    return f"the registry answered {answer.status_code}: {message.strip()[:200]}"
