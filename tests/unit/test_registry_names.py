"""What the registry's token service reads from a client: its scopes, and which image
references name the platform's registry."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from openarts.domain.registry import is_namespace, parse_scope, split_reference
from openarts.security.registry_tokens import SERVICE, Grant, TokenSigner
from openarts.services.registry_access import RegistryTokens
from openarts.services.registry_images import place_of


def test_a_scope_names_its_repository_and_actions() -> None:
    scope = parse_scope("repository:team/trainer:pull,push")
    assert scope is not None
    assert (scope.type, scope.name, scope.actions) == (
        "repository",
        "team/trainer",
        ("pull", "push"),
    )
    assert scope.namespace == "team"
    # A registry host with a port in the name is still one repository name.
    assert parse_scope("repository:a/b/c:pull") is not None
    assert parse_scope("nonsense") is None
    assert parse_scope("repository::pull") is None


def test_references_split_into_host_and_path_as_container_tools_read_them() -> None:
    assert split_reference("127.0.0.1:8083/team/x:1") == ("127.0.0.1:8083", "team/x:1")
    assert split_reference("swr.cn-north-4.myhuaweicloud.com/team/x:1")[0].startswith("swr.")
    assert split_reference("localhost/x:1") == ("localhost", "x:1")
    assert split_reference("team/x:1") == ("", "team/x:1")
    assert is_namespace("default") and not is_namespace("Default") and not is_namespace("-x")


def test_the_platforms_registry_is_named_by_its_address_or_an_swr_host(tmp_path: Path) -> None:
    tokens = RegistryTokens("127.0.0.1:8083", TokenSigner.in_folder(tmp_path), "secret")
    swr = place_of(tokens.address, "swr.cn-north-4.myhuaweicloud.com/team/x:1")
    assert swr is not None and (swr.repository, swr.reference) == ("team/x", "1")
    direct = place_of(tokens.address, "127.0.0.1:8083/team/x@sha256:abc")
    assert direct is not None and direct.reference == "sha256:abc"
    untagged = place_of(tokens.address, "127.0.0.1:8083/team/x")
    assert untagged is not None and untagged.reference == "latest"
    assert place_of(tokens.address, "registry.example.com/team/x:1") is None
    assert place_of(tokens.address, "localhost/x:1") is None
    assert place_of(None, "swr.cn-north-4.myhuaweicloud.com/team/x:1") is None


def test_a_token_is_signed_by_the_certificate_it_carries(tmp_path: Path) -> None:
    signer = TokenSigner.in_folder(tmp_path)
    again = TokenSigner.in_folder(tmp_path)  # kept: the registry trusts the first one
    assert again.certificate == signer.certificate
    assert (tmp_path / "token-key.pem").stat().st_mode & 0o777 == 0o600
    token = signer.token("rita", [Grant("repository", "team/x", ("pull",))])
    header_b64, claims_b64, signature_b64 = token.split(".")

    def decoded(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header = json.loads(decoded(header_b64))
    claims = json.loads(decoded(claims_b64))
    assert header["alg"] == "ES256"
    carried = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert carried == signer.certificate
    assert claims["aud"] == SERVICE and claims["sub"] == "rita"
    assert claims["access"] == [{"type": "repository", "name": "team/x", "actions": ["pull"]}]
    assert claims["exp"] > claims["iat"] > claims["nbf"]
    # The raw (r, s) signature, 64 bytes, verifies with the certificate's key.
    raw = decoded(signature_b64)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = carried.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
