"""Who is calling: the result of authenticating a request against a project."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
PROJECT_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class AuthMethod(StrEnum):
    AKSK = "aksk"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, before any project is considered."""

    user_id: str
    user_name: str
    domain_id: str
    is_admin: bool
    method: AuthMethod
    token_project_id: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated user acting in one project they belong to."""

    user_id: str
    user_name: str
    domain_id: str
    is_admin: bool
    method: AuthMethod
    project_id: str


def check_name(kind: str, name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"{kind} name {name!r} must be 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name
