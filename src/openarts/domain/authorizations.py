"""Authorization kinds and the agency naming rule from the reference."""

from __future__ import annotations

from enum import StrEnum

ALL_USERS = "all"
DEFAULT_AGENCY = "modelarts_agency"
AGENCY_PREFIX = "ma_agency_"


class AuthorizationType(StrEnum):
    AGENCY = "agency"
    CREDENTIAL = "credential"


class AuthorizationSortKey(StrEnum):
    USER_NAME = "user_name"
    CREATE_TIME = "create_time"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


def agency_name(suffix: str | None) -> str:
    return f"{AGENCY_PREFIX}{suffix}" if suffix else DEFAULT_AGENCY
