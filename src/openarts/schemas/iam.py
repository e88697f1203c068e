"""Wire shapes of the IAM-compatible token API (/v3/auth/tokens, /v3/auth/projects)."""

from __future__ import annotations

from pydantic import Field

from openarts.schemas.common import Shape, WireModel


class IamDomainRef(WireModel):
    id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=64)


class IamUserRef(WireModel):
    id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=64)
    password: str = Field(max_length=1024)
    domain: IamDomainRef | None = None


class IamPassword(WireModel):
    user: IamUserRef


class IamTokenRef(WireModel):
    id: str | None = Field(default=None, max_length=1024)


class IamIdentity(WireModel):
    methods: list[str] = Field(min_length=1)
    password: IamPassword | None = None
    token: IamTokenRef | None = None


class IamProjectRef(WireModel):
    id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=64)


class IamScope(WireModel):
    project: IamProjectRef | None = None


class IamAuth(WireModel):
    identity: IamIdentity
    scope: IamScope | None = None


class TokenRequest(WireModel):
    auth: IamAuth


class NamedRef(Shape):
    id: str
    name: str


class ScopedRef(NamedRef):
    domain: NamedRef


class TokenUser(ScopedRef):
    password_expires_at: str = ""


class TokenBody(Shape):
    methods: list[str]
    expires_at: str
    issued_at: str
    user: TokenUser
    project: ScopedRef
    roles: list[NamedRef]
    catalog: list[dict[str, object]] = Field(default_factory=list)


class TokenResponse(Shape):
    token: TokenBody


class IamProject(Shape):
    id: str
    name: str
    domain_id: str
    description: str
    enabled: bool = True
    is_domain: bool = False
    parent_id: str


class ProjectList(Shape):
    projects: list[IamProject]
