"""Request bodies of the S3 endpoint: streamed, decoded from aws-chunked, and checked."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from openarts.obs_endpoint.errors import S3Error
from openarts.storage.base import CHUNK
from openarts.storage.in_order import InOrderSteps

STREAMING = "STREAMING-"
SIGNED_STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
MAX_CHUNK_LINE = 4096
MAX_CHUNK_BYTES = 64 * 1024 * 1024


async def rechunk(chunks: AsyncIterator[bytes], size: int = CHUNK) -> AsyncIterator[bytes]:
    """Coalesce the server's small receive buffers into blocks of about ``size`` bytes, so
    that hashing and disk writes happen a block at a time, off the event loop."""
    pieces: list[bytes] = []
    held = 0
    async for chunk in chunks:
        pieces.append(chunk)
        held += len(chunk)
        if held >= size:
            # One copy into the block (a growing buffer would copy each piece twice).
            yield pieces[0] if len(pieces) == 1 else b"".join(pieces)
            pieces.clear()
            held = 0
    if pieces:
        yield b"".join(pieces)


def _update(digests: list[Any], block: bytes) -> None:
    for digest in digests:
        digest.update(block)


async def checked(
    chunks: AsyncIterator[bytes], *, sha256_hex: str | None, md5_b64: str | None
) -> AsyncIterator[bytes]:
    """Pass chunks through; at the end, fail if they do not match the declared digests.

    The failure happens before the store publishes the object, so a body that does not
    match leaves nothing behind.
    """
    sha = hashlib.sha256() if sha256_hex else None
    md5 = hashlib.md5() if md5_b64 else None
    digests = [d for d in (sha, md5) if d is not None]
    # Hashed on a thread beside the store's own hashing and writing of the block before
    # (hashlib lets go of the GIL on large blocks), so the two use both cores.
    steps = InOrderSteps()
    try:
        async for chunk in chunks:
            await steps.add(_update, digests, chunk)
            yield chunk
        await steps.finish()
    finally:
        await steps.settle()
    if sha is not None and sha.hexdigest() != sha256_hex:
        raise S3Error(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    if md5 is not None and base64.b64encode(md5.digest()).decode() != md5_b64:
        raise S3Error(
            "InvalidDigest", "The Content-MD5 you specified did not match what we received."
        )


async def aws_chunked(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Decode ``Content-Encoding: aws-chunked``: ``<hex size>[;ext]\\r\\n<data>\\r\\n`` … ``0``.

    Trailing checksum headers after the last chunk are read and dropped.
    """
    buffer = bytearray()
    source = chunks.__aiter__()

    async def fill() -> bool:
        try:
            buffer.extend(await source.__anext__())
        except StopAsyncIteration:
            return False
        return True

    while True:
        searched = 0
        while (end := buffer.find(b"\r\n", searched)) < 0:
            if len(buffer) > MAX_CHUNK_LINE:
                raise S3Error("InvalidRequest", "malformed aws-chunked body: no chunk header")
            searched = max(len(buffer) - 1, 0)
            if not await fill():
                raise S3Error("IncompleteBody", "the aws-chunked body ended early")
        line = bytes(buffer[:end])
        del buffer[: end + 2]
        try:
            size = int(line.split(b";", 1)[0], 16)
        except ValueError:
            raise S3Error("InvalidRequest", "malformed aws-chunked body") from None
        if size > MAX_CHUNK_BYTES:
            raise S3Error(
                "InvalidRequest", f"aws-chunked chunks are at most {MAX_CHUNK_BYTES} bytes"
            )
        if size == 0:
            while await fill():  # trailers, if any
                pass
            return
        while len(buffer) < size + 2:
            if not await fill():
                raise S3Error("IncompleteBody", "the aws-chunked body ended early")
        yield bytes(buffer[:size])
        del buffer[: size + 2]
