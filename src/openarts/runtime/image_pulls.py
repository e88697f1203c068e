"""A container image made ready on the node a task will run on, as a step one can see:
an event before a pull (a large image takes minutes) and one with its time after."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from openarts.backends.base import BackendError, ComputeBackend, PrepareError

# (reason, message) -> recorded as an event of the resource the task is for.
Say = Callable[[str, str], Awaitable[None]]


async def pull_image(backend: ComputeBackend, image: str, node: str, say: Say) -> None:
    """``image`` on ``node``: pulled when it is not there (and, for the platform's
    registry, refreshed); PrepareError with the registry's answer when it cannot be."""
    where = f" on node {node}" if node else ""
    if not await backend.has_image(image, node):
        # Said before it starts: the wait that follows has a name.
        await say("ImagePulling", f"pulling image {image}{where}")
    started = time.monotonic()
    try:
        pulled = await backend.ensure_image(image, node)
    except BackendError as error:
        raise PrepareError(f"image {image}{where}: {error}") from None
    if pulled:
        took = round((time.monotonic() - started) * 1000)
        await say("ImagePulled", f"image {image} pulled{where} in {took} ms")
