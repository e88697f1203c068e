"""Wire shapes of the authorization-management group."""

from __future__ import annotations

from pydantic import Field

from openarts.domain.authorizations import AuthorizationType
from openarts.schemas.common import Shape, WireModel


class AuthorizationRequest(WireModel):
    user_id: str | None = Field(default=None, max_length=64)
    type: AuthorizationType = AuthorizationType.AGENCY
    content: str = Field(min_length=1, max_length=255)
    secret_key: str | None = Field(default=None, max_length=255)
    user_name: str | None = Field(default=None, max_length=64)


class AuthorizationResponse(Shape):
    user_id: str
    user_name: str
    type: AuthorizationType
    content: str
    create_time: int


class AuthorizationList(Shape):
    total_count: int
    auth: list[AuthorizationResponse]


class AgencyRequest(WireModel):
    agency_name_suffix: str | None = Field(
        default=None, max_length=50, pattern=r"^[A-Za-z0-9_\-.]*$"
    )


class AgencyResponse(Shape):
    agency_name: str
