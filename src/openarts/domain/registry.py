"""The image registry's names: whose repository is whose, and what a client asks for.

A repository of the platform's registry lives in a namespace (SWR's "organisation"), its
first path component: a project's name, or its ID. Members of that project push and
pull there; nobody else sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A repository path component as the OCI distribution specification writes it.
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
REPOSITORY_ACTIONS = ("pull", "push", "delete")
# The platform's own namespace (the copies of models' images): no project's, even one of
# that name; only the platform writes there and only its nodes pull.
PLATFORM_NAMESPACE = "openarts-platform"


@dataclass(frozen=True, slots=True)
class ScopeRequest:
    """One ``scope`` a client asks a token for: ``repository:ns/name:pull,push``."""

    type: str
    name: str
    actions: tuple[str, ...]

    @property
    def namespace(self) -> str:
        return self.name.split("/", 1)[0]


def parse_scope(text: str) -> ScopeRequest | None:
    """The request a ``scope`` parameter makes; None for one that cannot be read (the
    registry then simply gets a token that allows nothing for it)."""
    kind, _, rest = text.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        return None
    return ScopeRequest(kind, name, tuple(a for a in actions.split(",") if a))


def is_namespace(text: str) -> bool:
    return _COMPONENT.fullmatch(text) is not None


def is_repository(text: str) -> bool:
    """A repository path (``namespace/name``) whose every component the distribution
    specification allows: never ``..`` or an empty one, which a URL would fold into
    another repository's path."""
    return all(is_namespace(part) for part in text.split("/"))


def split_reference(reference: str) -> tuple[str, str]:
    """``host[:port]`` (empty when none is written) and the rest of an image reference, as
    container tools read it: the first component is a host when it has a dot or a colon,
    or is ``localhost``."""
    first, sep, rest = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "", reference


# What to write instead of a short name (container tools would match one against every
# image a node holds, whoever pulled it).
WHOLE_REFERENCE = (
    "write the whole reference, host first (swr.<region>.myhuaweicloud.com/<namespace>/"
    "<name>:<tag> for the platform's registry, localhost/<name>:<tag> for an image of "
    "the node's own Podman)"
)


def is_swr_host(host: str) -> bool:
    """A host of Huawei Cloud's SWR (``swr.<region>.myhuaweicloud.com``): ModelArts code
    names images there, and this platform's registry stands in for it."""
    return host.startswith("swr.")
