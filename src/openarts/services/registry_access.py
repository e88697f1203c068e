"""Who may do what in the platform's image registry: the token service behind it.

``podman login``/``docker login`` send a user name and password (or an AK as the user
and its SK as the password, SWR's way; ``region@AK`` too; or the user name and an IAM
token of theirs). A member of a project may
pull, push and delete in that project's namespace (its name or its ID) and nowhere
else; the platform's own nodes pull anything (they run what the API let a project
start, and the API checks the image is the project's).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openarts.backends.registry_client import Credentials, RegistryClient
from openarts.db.engine import Database
from openarts.db.tables import Project, User
from openarts.domain.registry import PLATFORM_NAMESPACE, REPOSITORY_ACTIONS, ScopeRequest
from openarts.ids import now_ms
from openarts.security.passwords import check_password, hash_password
from openarts.security.registry_tokens import TOKEN_TTL_S, Grant, TokenSigner
from openarts.security.secrets_box import SecretBox
from openarts.services import identity
from openarts.services import tokens as tokens_service

# The user name the platform's nodes pull with (their password: ``node_secret``).
NODE_USER = "openarts-node"


@dataclass(slots=True)
class RegistryStatus:
    """Whether the platform's registry answers, and what to say of it (the banner,
    /health); the process that runs it keeps it current."""

    enabled: bool
    summary: str
    address: str = ""
    kind: str = "embedded"  # or "external", or "none"


# Further repositories a client may act on, and how: ((repository, actions), ...).
Access = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class RegistryTokens:
    """The embedded registry's side of the API: its address, its signer, the nodes'
    secret."""

    address: str  # host:port as image references write it
    signer: TokenSigner
    node_secret: str = field(repr=False)

    def client(
        self,
        repository: str,
        actions: tuple[str, ...],
        also: Access = (),
        ttl_s: int = TOKEN_TTL_S,
    ) -> RegistryClient:
        """A client of the registry allowed ``actions`` on ``repository`` (and what
        ``also`` names elsewhere): a token the platform mints for itself, good for
        ``ttl_s`` (a long upload needs longer than a check)."""
        grants = [
            Grant("repository", name, allowed) for name, allowed in ((repository, actions), *also)
        ]
        token = self.signer.token(NODE_USER, grants, ttl_s=ttl_s)
        return RegistryClient(f"http://{self.address}", Credentials(bearer=token))


@dataclass(frozen=True, slots=True)
class ExternalRegistry:
    """A registry the platform uses but does not run (Harbor, SWR, any OCI registry):
    its URL and the account the platform pulls and checks with."""

    address: str
    url: str
    user: str | None
    password: str | None = field(repr=False, default=None)

    def client(
        self,
        repository: str,
        actions: tuple[str, ...],
        also: Access = (),
        ttl_s: int = TOKEN_TTL_S,
    ) -> RegistryClient:
        # Its own token service decides how long its tokens last.
        basic = (self.user, self.password) if self.user and self.password else None
        scopes = tuple(f"repository:{name}:{','.join(allowed)}" for name, allowed in also)
        return RegistryClient(self.url, Credentials(basic=basic), scopes)


# The registry whose namespaces are the projects': the embedded one or an external one.
PlatformRegistry = RegistryTokens | ExternalRegistry


@dataclass(frozen=True, slots=True)
class RegistryCaller:
    subject: str
    user_id: str | None  # None: the platform's nodes


async def authenticate(
    db: Database, box: SecretBox, tokens: RegistryTokens, user: str, password: str
) -> RegistryCaller | None:
    """The caller these Basic credentials name; None when they name nobody. The lookups
    share one short session, closed before the password's scrypt runs (on a thread); an
    unknown name costs the same scrypt, so the time taken does not tell names apart."""
    if user == NODE_USER:
        if hmac.compare_digest(password.encode(), tokens.node_secret.encode()):
            return RegistryCaller(NODE_USER, None)
        return None
    # An access key, as SWR's login takes it ("cn-north-4@AK" or the AK alone).
    access_key = user.rsplit("@", 1)[-1]
    async with db.session() as session:
        found = await identity.lookup_credential(session, access_key)
        # An IAM token as the password (what a profile signed in with a password holds);
        # a token is scoped to one project, but the registry asks per namespace, so it
        # stands for its user as AK/SK do.
        token = None if found else await tokens_service.lookup_token(session, password)
        users = (
            []
            if found or token
            else list(await session.scalars(select(User).where(User.name == user).limit(2)))
        )
    if found is not None:
        secret = box.decrypt(found.secret_encrypted)
        if hmac.compare_digest(password.encode(), secret.encode()):
            return RegistryCaller(found.user.name, found.user.id)
        return None
    if token is not None and token.expires_at > now_ms() and token.user.name == user:
        return RegistryCaller(token.user.name, token.user.id)
    # A name two domains share names nobody for certain: such users log in with AK/SK.
    known = users[0] if len(users) == 1 and users[0].password_hash else None
    stored = known.password_hash if known is not None else None
    matches = await asyncio.to_thread(_checked, password, stored)
    if known is None or not matches:
        return None
    return RegistryCaller(known.name, known.id)


def _checked(password: str, stored: str | None) -> bool:
    """The password against its hash, or against one no password matches (the same
    scrypt either way); on a thread."""
    return check_password(password, stored or _no_one()) and stored is not None


@functools.cache
def _no_one() -> str:
    """A password hash no password matches, checked for names that are nobody's."""
    return hash_password(secrets.token_urlsafe(24))


async def grants_for(
    session: AsyncSession, caller: RegistryCaller, scopes: list[ScopeRequest]
) -> list[Grant]:
    """What of each requested scope the caller gets (nothing, for what is not theirs)."""
    grants: list[Grant] = []
    for scope in scopes:
        if scope.type != "repository":
            continue
        if caller.user_id is None:
            allowed = {"pull"}
        elif scope.namespace == PLATFORM_NAMESPACE:
            # The platform's own copies (models' images): no project's, whatever its name.
            allowed = set()
        else:
            project = await _project_of_namespace(session, scope.namespace)
            member = project is not None and await identity.is_member(
                session, user_id=caller.user_id, project_id=project.id
            )
            allowed = set(REPOSITORY_ACTIONS) if member else set()
        actions = tuple(a for a in scope.actions if a in allowed)
        if actions:
            grants.append(Grant(scope.type, scope.name, actions))
    return grants


async def _project_of_namespace(session: AsyncSession, namespace: str) -> Project | None:
    project = await identity.project_by_name(session, namespace)
    if project is None:
        project = await session.get(Project, namespace)
    return project


async def project_namespaces(session: AsyncSession, project_id: str) -> set[str]:
    """The namespaces that are the project's own: its ID, and its name."""
    project = await session.get(Project, project_id)
    return set() if project is None else {project.id, project.name} - {PLATFORM_NAMESPACE}
