"""Secrets at rest: encrypted with a key kept in the home directory (file mode 0600).

Secret keys must stay recoverable, since verifying an HMAC signature needs the secret itself;
hashing them is not an option, so they are encrypted instead.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._fernet = Fernet(key)

    def derived_key(self, purpose: str) -> bytes:
        """A key for one purpose (signing presigned URLs, say), derived from the home's key."""
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).digest()

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """Load the key, creating it (readable by the owner only) on first use."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                raise PermissionError(
                    f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
                ) from None
            return cls(path.read_bytes().strip())
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return cls(key)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError(
                "a stored secret cannot be decrypted with this home's secret.key"
            ) from None
