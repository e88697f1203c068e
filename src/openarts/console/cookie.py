"""What the console's session cookie holds: the IAM token and what the pages show beside
it. Kept apart from signing in and out (session.py), which renders pages, so that
rendering can name a session without importing the code that makes one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

COOKIE = "openarts_console"


@dataclass(frozen=True)
class Session:
    token: str
    project_id: str
    project_name: str
    user_name: str
    expires_ms: int

    @property
    def csrf(self) -> str:
        # Derived from the token, so it needs no storage and dies with the session; a
        # one-way MAC, so the page that carries it reveals nothing about the token.
        return hmac.new(self.token.encode(), b"openarts-console-csrf", hashlib.sha256).hexdigest()

    def encode(self) -> str:
        raw = json.dumps(asdict(self), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Session | None:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            session = cls(**json.loads(raw))
        except (ValueError, TypeError):
            return None
        fields = (session.token, session.project_id, session.project_name, session.user_name)
        if not all(isinstance(f, str) for f in fields) or not isinstance(session.expires_ms, int):
            return None
        return session
