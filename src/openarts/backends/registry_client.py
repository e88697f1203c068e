"""What the platform asks of its registry over the distribution API: whether an image is
there, its size and architecture (for registering it), and removing a tag's manifest.

The caller hands it a bearer token it minted for the one repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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


class RegistryAnswer(Exception):
    """The registry could not be asked, or said no; the message says what it said."""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    digest: str
    size_bytes: int
    arch: str  # X86_64, AARCH64, or the image's own word for another


class RegistryClient:
    def __init__(self, address: str) -> None:
        self.base = f"http://{address}/v2"

    async def facts(self, repository: str, tag: str, token: str) -> ImageFacts | None:
        """The image's facts; None when the registry has no such image."""
        async with _client(token) as client:
            manifest, digest = await self._manifest(client, repository, tag)
            if manifest is None:
                return None
            if manifest.get("mediaType") in _INDEXES or "manifests" in manifest:
                chosen = _platform_manifest(manifest)
                manifest, digest = await self._manifest(client, repository, chosen)
                if manifest is None:
                    return None
            config = manifest.get("config") or {}
            layers = manifest.get("layers") or []
            size = int(config.get("size", 0)) + sum(int(x.get("size", 0)) for x in layers)
            blob = await self._send(client, "GET", f"{repository}/blobs/{config.get('digest', '')}")
            if blob is None:
                raise RegistryAnswer(f"the registry lacks {repository}:{tag}'s configuration")
            arch = str(json.loads(blob.content).get("architecture") or "amd64")
            return ImageFacts(digest=digest, size_bytes=size, arch=ARCHES.get(arch, arch))

    async def tags(self, repository: str, token: str) -> list[str]:
        async with _client(token) as client:
            listed = await self._send(client, "GET", f"{repository}/tags/list")
        return [] if listed is None else list(listed.json().get("tags") or [])

    async def digest(self, repository: str, reference: str, token: str) -> str | None:
        """The manifest digest a tag points to; None when there is no such tag."""
        async with _client(token) as client:
            answer = await self._send(client, "HEAD", f"{repository}/manifests/{reference}")
        return None if answer is None else answer.headers.get("docker-content-digest")

    async def delete(self, repository: str, digest: str, token: str) -> None:
        async with _client(token) as client:
            await self._send(client, "DELETE", f"{repository}/manifests/{digest}", ok=(202,))

    async def _manifest(
        self, client: httpx.AsyncClient, repository: str, reference: str
    ) -> tuple[dict[str, Any] | None, str]:
        answer = await self._send(client, "GET", f"{repository}/manifests/{reference}")
        if answer is None:
            return None, ""
        return answer.json(), answer.headers.get("docker-content-digest", "")

    async def _send(
        self, client: httpx.AsyncClient, method: str, path: str, ok: tuple[int, ...] = (200,)
    ) -> httpx.Response | None:
        """The registry's answer; None for 404; RegistryAnswer for any other failure."""
        try:
            answer = await client.request(method, f"{self.base}/{path}", follow_redirects=True)
        except httpx.HTTPError as error:
            raise RegistryAnswer(f"the registry did not answer: {error}") from None
        if answer.status_code == 404:
            return None
        if answer.status_code not in ok:
            raise RegistryAnswer(_said(answer))
        return answer


def _client(token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=TIMEOUT_S, headers={"Authorization": f"Bearer {token}", "Accept": _MANIFESTS}
    )


def _platform_manifest(index: dict[str, Any]) -> str:
    """The digest of an index's linux/amd64 image (the platform's nodes run x86-64), or
    its first when it has none."""
    entries = [e for e in index.get("manifests") or [] if isinstance(e, dict)]
    if not entries:
        raise RegistryAnswer("the image index lists no image")
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return str(entry["digest"])
    return str(entries[0]["digest"])


def _said(answer: httpx.Response) -> str:
    try:
        errors = answer.json().get("errors") or []
        message = "; ".join(str(e.get("message")) for e in errors) or answer.text
    except ValueError:
        message = answer.text
    return f"the registry answered {answer.status_code}: {message.strip()[:200]}"
