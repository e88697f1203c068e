"""Open the object store the settings describe."""

from __future__ import annotations

from openarts.security.secrets_box import SecretBox
from openarts.settings import Settings
from openarts.storage.base import ObjectStore
from openarts.storage.local import LocalStore
from openarts.storage.presign import PlatformPresigner


def open_store(settings: Settings, box: SecretBox) -> ObjectStore:
    if settings.storage == "s3":
        if not (settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key):
            raise ValueError("storage 's3' needs an endpoint, an access key and a secret key")
        # boto3 is loaded only by the servers that use it: a tenth of a second at start.
        from openarts.storage.s3 import S3Store

        return S3Store(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            region=settings.s3_region,
            addressing=settings.s3_addressing,
        )
    return LocalStore(settings.resolved_storage_root, presigner=platform_presigner(settings, box))


def platform_presigner(settings: Settings, box: SecretBox) -> PlatformPresigner:
    return PlatformPresigner(box.derived_key("presign"), settings.obs_endpoint)
