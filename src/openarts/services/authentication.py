"""Authenticating requests: SDK-HMAC-SHA256 signatures and IAM-style tokens.

Lookups are cached for ``auth_cache_ttl_s`` so that verifying a request costs a few
microseconds of hashing rather than database round trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from openarts import errors
from openarts.cache import TtlCache
from openarts.db.engine import Database
from openarts.db.tables import User
from openarts.domain.identity import AuthMethod, Caller, Principal
from openarts.errors import OpenArtsError
from openarts.ids import now_ms
from openarts.security import signing
from openarts.security.secrets_box import SecretBox
from openarts.services import identity, tokens
from openarts.settings import Settings


@dataclass(frozen=True, slots=True)
class _KnownKey:
    secret_key: str
    principal: Principal


@dataclass(frozen=True, slots=True)
class _KnownToken:
    principal: Principal
    expires_at_ms: int


def _principal(user: User, method: AuthMethod, token_project_id: str | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        user_name=user.name,
        domain_id=user.domain_id,
        is_admin=user.is_admin,
        method=method,
        token_project_id=token_project_id,
    )


class Authenticator:
    def __init__(self, settings: Settings, db: Database, box: SecretBox) -> None:
        self.settings = settings
        self.db = db
        self.box = box
        ttl = settings.auth_cache_ttl_s
        self._keys: TtlCache[str, _KnownKey] = TtlCache(ttl)
        self._tokens: TtlCache[str, _KnownToken] = TtlCache(ttl)
        self._members: TtlCache[tuple[str, str], bool] = TtlCache(ttl)

    async def authenticate(self, request: Request) -> Principal:
        token = request.headers.get("x-auth-token")
        if token:
            return await self._from_token(token)
        authorization = request.headers.get("authorization")
        if authorization:
            return await self._from_signature(request, authorization)
        raise OpenArtsError(
            errors.NO_AUTH_HEADER,
            "No authorization request header: sign the request with an AK/SK "
            "(SDK-HMAC-SHA256) or send an X-Auth-Token.",
        )

    async def caller_for(self, request: Request, project_id: str) -> Caller:
        return await self.in_project(await self.authenticate(request), request, project_id)

    async def in_project(self, principal: Principal, request: Request, project_id: str) -> Caller:
        """The authenticated principal as a caller in ``project_id``, if a member."""
        header_project = request.headers.get("x-project-id")
        if principal.token_project_id is not None and principal.token_project_id != project_id:
            raise OpenArtsError(
                errors.PROJECT_FORBIDDEN,
                "The project id in the request URL does not match the token.",
            )
        if (header_project and header_project != project_id) or not await self._is_member(
            principal.user_id, project_id
        ):
            # The same answer whether the project exists or not: nothing leaks.
            raise OpenArtsError(
                errors.PROJECT_FORBIDDEN,
                f"You are not allowed to use project {project_id}.",
            )
        return Caller(
            user_id=principal.user_id,
            user_name=principal.user_name,
            domain_id=principal.domain_id,
            is_admin=principal.is_admin,
            method=principal.method,
            project_id=project_id,
        )

    async def _is_member(self, user_id: str, project_id: str) -> bool:
        key = (user_id, project_id)
        if self._members.get(key):
            return True
        async with self.db.session() as session:
            member = await identity.is_member(session, user_id=user_id, project_id=project_id)
        if member:
            self._members.put(key, True)
        return member

    def forget_token(self, token: str) -> None:
        """A revoked token stops working here at once (other server processes notice
        within ``auth_cache_ttl_s``)."""
        self._tokens.drop(tokens.token_digest(token))

    async def _from_token(self, token: str) -> Principal:
        digest = tokens.token_digest(token)
        known = self._tokens.get(digest)
        if known is None:
            async with self.db.session() as session:
                found = await tokens.lookup_token(session, token)
            if found is None:
                raise OpenArtsError(errors.TOKEN_INVALID, "Invalid token.")
            principal = _principal(found.user, AuthMethod.TOKEN, found.project_id)
            known = _KnownToken(principal, found.expires_at)
            self._tokens.put(digest, known)
        if known.expires_at_ms <= now_ms():
            raise OpenArtsError(
                errors.TOKEN_EXPIRED, "Invalid token header because the token has expired."
            )
        return known.principal

    async def _from_signature(self, request: Request, authorization: str) -> Principal:
        try:
            parsed = signing.parse_authorization(authorization)
        except signing.SignatureError as exc:
            raise OpenArtsError(
                errors.BAD_AUTH_HEADER, f"Incorrect authorization request header format: {exc}."
            ) from None
        known = await self._known_key(parsed.access_key)
        scope = request.scope
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        try:
            headers = {
                name.decode("latin-1"): value.decode("utf-8") for name, value in scope["headers"]
            }
            signing.verify(
                parsed=parsed,
                secret_key=known.secret_key,
                method=request.method,
                raw_path=path,
                raw_query=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=await request.body(),
                now=datetime.now(UTC),
                max_skew_s=self.settings.signature_max_skew_s,
            )
        except UnicodeDecodeError:
            raise OpenArtsError(
                errors.AUTH_CHECK_FAILED,
                "Failed to check the authorization request header: a header is not UTF-8.",
            ) from None
        except signing.SignatureError as exc:
            code = errors.BAD_AUTH_HEADER if exc.malformed else errors.AUTH_CHECK_FAILED
            raise OpenArtsError(
                code, f"Failed to check the authorization request header: {exc.reason}."
            ) from None
        return known.principal

    async def _known_key(self, access_key: str) -> _KnownKey:
        known = self._keys.get(access_key)
        if known is not None:
            return known
        async with self.db.session() as session:
            found = await identity.lookup_credential(session, access_key)
        if found is None:
            raise OpenArtsError(
                errors.UNKNOWN_ACCESS_KEY, "User credential (AK and SK) does not exist."
            )
        known = _KnownKey(
            secret_key=self.box.decrypt(found.secret_encrypted),
            principal=_principal(found.user, AuthMethod.AKSK),
        )
        self._keys.put(access_key, known)
        return known
