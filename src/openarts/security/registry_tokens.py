"""Bearer tokens for the embedded image registry (the CNCF Distribution registry's
``auth.token`` scheme): JSON Web Tokens signed ES256 with a key the server makes in its
home, carrying the certificate that the registry trusts (``rootcertbundle``) in ``x5c``.

The registry never sees a password: clients trade theirs at the API's token route for a
token naming what they may do, per repository, for a few minutes.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

ISSUER = "openarts"
SERVICE = "openarts-registry"
TOKEN_TTL_S = 300


@dataclass(frozen=True, slots=True)
class Grant:
    """What one token allows on one resource (``repository``, ``ns/name``, actions)."""

    type: str
    name: str
    actions: tuple[str, ...]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenSigner:
    """The registry's token key: made once per home, kept private (0600)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        self._key = key
        self.certificate = certificate
        self._chain = [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER))]

    @classmethod
    def in_folder(cls, folder: Path) -> TokenSigner:
        """The signer kept in ``folder`` (``token-key.pem``, ``token-cert.pem``), made
        there the first time."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_file, cert_file = folder / "token-key.pem", folder / "token-cert.pem"
        if key_file.exists() and cert_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return cls(key, x509.load_pem_x509_certificate(cert_file.read_bytes()))
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OpenArts registry tokens")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return cls(key, certificate)

    def token(self, subject: str, grants: list[Grant], *, ttl_s: int = TOKEN_TTL_S) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [c.decode() for c in self._chain]}
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "iat": now,
            # A little slack for clocks: the registry runs on the same machine.
            "nbf": now - 10,
            "exp": now + ttl_s,
            "jti": secrets.token_hex(16),
            "access": [
                {"type": g.type, "name": g.name, "actions": list(g.actions)} for g in grants
            ],
        }
        signed = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        der = self._key.sign(signed.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signed + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
