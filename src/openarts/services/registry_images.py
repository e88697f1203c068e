"""Images in the platform's registry, as the API meets them: whose they are, whether they
are there (and how large, for which processor) when registered, removed when deleted.

An image reference names the platform's registry when its host is the registry's
address or an SWR host (``swr.<region>.myhuaweicloud.com``, which stands for it). Such
an image must be in a namespace of the caller's project; other references are the
user's to vouch for (a local Podman image, another registry).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.backends.registry_client import (
    UPLOAD_TIMEOUT_S,
    ImageFacts,
    Layer,
    RegistryAnswer,
)
from openarts.db.engine import Database
from openarts.domain.registry import (
    PLATFORM_NAMESPACE,
    is_repository,
    is_swr_host,
    split_reference,
)
from openarts.errors import OpenArtsError
from openarts.services.registry_access import PlatformRegistry, project_namespaces

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RegistryPlace:
    """Where in the platform's registry a reference points."""

    repository: str  # namespace/name
    reference: str  # a tag, or a digest

    @property
    def namespace(self) -> str:
        return self.repository.split("/", 1)[0]


def place_of(address: str | None, image: str) -> RegistryPlace | None:
    """The repository and tag in the platform's registry (at ``address``) that ``image``
    names; None when it names another place (or no registry runs here)."""
    if address is None:
        return None
    host, rest = split_reference(image)
    if not (host == address or is_swr_host(host)):
        return None
    if "@" in rest:
        repository, _, reference = rest.partition("@")
    else:
        repository, _, reference = rest.rpartition(":")
        if not repository or "/" in reference:
            repository, reference = rest, "latest"
    return RegistryPlace(repository, reference)


async def check_owned(
    session: AsyncSession, address: str | None, project_id: str, image: str, field: str
) -> None:
    """An image of the platform's registry may be used by its own project only: another
    project's namespace is refused as not found (what is there is not said)."""
    place = place_of(address, image)
    if place is None:
        return
    if not is_repository(place.repository):
        raise OpenArtsError(
            errors.IMAGE_NOT_FOUND,
            f"Specified image {image} cannot be found: {place.repository} is not a "
            "repository name (lower-case letters, digits and . _ - between them)",
        )
    own = await project_namespaces(session, project_id)
    if place.namespace not in own:
        raise OpenArtsError(
            errors.IMAGE_NOT_FOUND,
            f"Specified image {image} cannot be found: {field} names the platform's "
            f"registry, where this project's images are under "
            + " or ".join(f"{namespace}/" for namespace in sorted(own)),
        )


async def registered_facts(
    db: Database, tokens: PlatformRegistry | None, project_id: str, image: str
) -> ImageFacts | None:
    """The image's facts when it is in the platform's registry (IMAGE_NOT_FOUND when it
    should be and is not); None for an image elsewhere, which is not checked."""
    place = place_of(tokens.address if tokens else None, image)
    if place is None or tokens is None:
        return None
    async with db.session() as session:
        await check_owned(session, tokens.address, project_id, image, "swr_path")
    try:
        client = tokens.client(place.repository, ("pull",))
        facts = await client.facts(place.repository, place.reference)
    except RegistryAnswer as error:
        raise OpenArtsError(
            errors.IMAGE_NOT_FOUND, f"Specified image {image} cannot be found: {error}"
        ) from None
    if facts is None:
        raise OpenArtsError(
            errors.IMAGE_NOT_FOUND,
            f"Specified image {image} cannot be found: the registry {tokens.address} has no "
            f"{place.repository}:{place.reference} (push it first)",
        )
    return facts


@dataclass(frozen=True, slots=True)
class Content:
    """An image's manifest in the platform's registry, to be deleted."""

    repository: str
    digest: str


async def content_of(
    db: Database, tokens: PlatformRegistry | None, project_id: str, image: str
) -> Content | None:
    """What deleting ``image``'s content (``force``) removes; None when it is not in the
    platform's registry (or is gone already). Only the project's own namespaces (a record
    made while no registry ran was never checked); and the registry deletes a manifest
    with every tag on it, so a tag sharing it with others is refused, naming them."""
    place = place_of(tokens.address if tokens else None, image)
    if place is None or tokens is None:
        return None
    async with db.session() as session:
        await check_owned(session, tokens.address, project_id, image, "its swr_path")
    client = tokens.client(place.repository, ("pull",))
    try:
        digest = await client.digest(place.repository, place.reference)
        if digest is None:
            return None
        sharing = [
            tag
            for tag in await client.tags(place.repository)
            if tag != place.reference and await client.digest(place.repository, tag) == digest
        ]
    except RegistryAnswer as error:
        raise OpenArtsError(
            errors.OPERATION_FORBIDDEN,
            f"Image {image} cannot be deleted from the registry: {error}",
        ) from None
    if sharing:
        raise OpenArtsError(
            errors.OPERATION_FORBIDDEN,
            f"Image {image} shares its content with tag(s) {', '.join(sorted(sharing))} of "
            f"{place.repository}, which the registry would delete with it: delete without "
            "force, or push distinct images",
        )
    return Content(place.repository, digest)


async def remove(tokens: PlatformRegistry, content: Content) -> None:
    """Delete the manifest (its layers go at the registry's next garbage collection)."""
    client = tokens.client(content.repository, ("pull", "delete"))
    await client.delete(content.repository, content.digest)


async def remove_logged(tokens: PlatformRegistry, content: Content) -> None:
    """``remove`` after the answer has gone (the image's record is deleted already): a
    registry that fails then is logged, with what is left."""
    try:
        await remove(tokens, content)
    except RegistryAnswer as error:
        log.error(
            "the registry kept %s@%s after its image was deleted: %s",
            content.repository,
            content.digest,
            error,
        )


@dataclass(frozen=True, slots=True)
class ModelImage:
    """What a model of type Image runs, once published: the reference its replicas pull,
    and the image's size."""

    reference: str
    size_bytes: int


def is_platform_copy(image: str) -> bool:
    """Whether ``image`` is one of the platform's own copies (a model's image)."""
    return split_reference(image)[1].startswith(f"{PLATFORM_NAMESPACE}/")


def copy_repository(model_id: str) -> str:
    """Where the platform keeps its copy of a model's image (no project's namespace)."""
    return f"{PLATFORM_NAMESPACE}/model-{model_id}"


async def model_image(
    tokens: PlatformRegistry | None, image: str, model_id: str, copy: bool
) -> ModelImage:
    """A model's image checked in the platform's registry (which the create checked is
    the project's) and, with ``copy`` (the reference's ``source_copy``), copied into the
    platform's namespace and pinned by digest: a tag pushed again or deleted later leaves
    the model as published. Without it the tag itself runs, as it is at each start.
    RegistryAnswer or ValueError saying why not."""
    place = place_of(tokens.address if tokens else None, image)
    if place is None or tokens is None:
        if copy:
            raise ValueError(
                f"source_copy copies the image within the platform's registry, and {image} "
                "is elsewhere: push it there (openarts image push), or import it with "
                "source_copy false to run it from where it is"
            )
        return ModelImage(image, 0)
    facts = await tokens.client(place.repository, ("pull",)).facts(
        place.repository, place.reference
    )
    if facts is None:
        raise ValueError(
            f"the registry {tokens.address} has no {place.repository}:{place.reference} "
            "(push it first)"
        )
    if not copy:
        return ModelImage(image, facts.size_bytes)
    target = copy_repository(model_id)
    client = tokens.client(target, ("pull", "push"), also=((place.repository, ("pull",)),))
    digest = await client.copy(place.repository, place.reference, target, "published")
    host = split_reference(image)[0]
    return ModelImage(f"{host}/{target}@{digest}", facts.size_bytes)


async def remove_model_copy(tokens: PlatformRegistry, reference: str) -> None:
    """Delete a deleted model's copy of its image (logged when the registry fails: the
    model is gone already)."""
    repository, _, digest = split_reference(reference)[1].partition("@")
    if not repository.startswith(f"{PLATFORM_NAMESPACE}/") or not digest:
        return
    await remove_logged(tokens, Content(repository, digest))


async def push_extended(
    tokens: PlatformRegistry | None, base: str, target: str, layer: Layer
) -> str:
    """Push ``target`` to the platform's registry: image ``base`` with ``layer`` on
    top (an instance saved as an image). Its digest; RegistryAnswer or ValueError."""
    address = tokens.address if tokens else None
    at, to = place_of(address, base), place_of(address, target)
    if tokens is None or to is None:
        raise ValueError(f"{target} is not in the platform's registry, which alone takes pushes")
    if at is None:
        raise ValueError(f"the instance's image {base} is not in the platform's registry")
    client = tokens.client(
        to.repository,
        ("pull", "push"),
        also=((at.repository, ("pull",)),),
        # The token outlives the layer's upload, however long it takes.
        ttl_s=int(UPLOAD_TIMEOUT_S) + 300,
    )
    return await client.extend(at.repository, at.reference, to.repository, to.reference, layer)
