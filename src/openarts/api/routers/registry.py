"""The image registry's token service (Distribution's ``auth.token`` realm): Basic
credentials in, a short-lived bearer token naming what they allow out. Docker's and
Podman's clients call it themselves, so it answers as the token specification says,
not in ModelArts' error shape."""

from __future__ import annotations

import base64
import binascii
import datetime
import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from openarts.api.deps import client_of, parts_of
from openarts.domain.registry import parse_scope
from openarts.security.registry_tokens import TOKEN_TTL_S
from openarts.services import registry_access

router = APIRouter(tags=["Image registry"])

TOKEN_PATH = "/openarts/registry/token"


def _refused(message: str, status: int = 401) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"code": "UNAUTHORIZED", "message": message}]},
        status_code=status,
        headers={"WWW-Authenticate": 'Basic realm="OpenArts registry"'},
    )


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


@router.get(TOKEN_PATH, summary="A registry token for Basic credentials (docker/podman login)")
async def registry_token(
    request: Request,
    scope: Annotated[list[str] | None, Query()] = None,
) -> JSONResponse:
    parts = parts_of(request)
    tokens = parts.registry
    if tokens is None:
        return _refused("this server runs no image registry", 404)
    credentials = _basic(request)
    if credentials is None:
        return _refused("log in with a user name and password, or an AK and its SK")
    name, client = credentials[0], client_of(request)
    # The nodes' own secret is random: nothing to guess, and pulls must not wait.
    wait = 0.0 if name == registry_access.NODE_USER else parts.logins.retry_after(name, client)
    if wait > 0:
        return JSONResponse(
            {
                "errors": [
                    {
                        "code": "TOOMANYREQUESTS",
                        "message": f"too many wrong passwords for {name}: try again later",
                    }
                ]
            },
            status_code=429,
            headers={"Retry-After": str(math.ceil(wait))},
        )
    caller = await registry_access.authenticate(parts.db, parts.box, tokens, *credentials)
    if caller is None:
        if name != registry_access.NODE_USER:
            parts.logins.failed(name, client)
        return _refused("the user name or password is wrong")
    parts.logins.succeeded(name, client)
    wanted = [s for s in (parse_scope(text) for text in scope or []) if s is not None]
    async with parts.db.session() as session:
        grants = await registry_access.grants_for(session, caller, wanted)
    token = tokens.signer.token(caller.subject, grants)
    return JSONResponse(
        {
            "token": token,
            "access_token": token,
            "expires_in": TOKEN_TTL_S,
            "issued_at": datetime.datetime.now(datetime.UTC).isoformat(),
        }
    )
