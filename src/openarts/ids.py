"""Identifiers and clocks, in the shapes the ModelArts API uses."""

from __future__ import annotations

import secrets
import string
import time
import uuid

_AK_ALPHABET = string.ascii_uppercase + string.digits
_SK_ALPHABET = string.ascii_letters + string.digits


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_hex32() -> str:
    """A 32-hex-character ID, the shape of the cloud's project, user and domain IDs."""
    return uuid.uuid4().hex


def new_access_key() -> str:
    return "".join(secrets.choice(_AK_ALPHABET) for _ in range(20))


def new_secret_key() -> str:
    return "".join(secrets.choice(_SK_ALPHABET) for _ in range(40))


def now_ms() -> int:
    return time.time_ns() // 1_000_000
