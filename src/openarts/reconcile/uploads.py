"""Abandoned multipart uploads expire: an upload begun and neither completed nor aborted
(a client killed mid-upload) holds its parts on disk until it is this old, then goes."""

from __future__ import annotations

import logging
import time

from openarts.reconcile.leadership import Leadership
from openarts.reconcile.loop import SteppingReconciler
from openarts.storage.base import ObjectStore

log = logging.getLogger(__name__)

# How often it looks, at most (an expiry of a day is checked every hour).
LONGEST_INTERVAL_S = 3600.0


class UploadExpiry(SteppingReconciler):
    def __init__(
        self, store: ObjectStore, *, expiry_s: float, leadership: Leadership | None
    ) -> None:
        super().__init__(
            interval_s=max(1.0, min(LONGEST_INTERVAL_S, expiry_s / 4)),
            leadership=leadership,
            log=log,
        )
        self.store = store
        self.expiry_s = expiry_s

    async def run_once(self) -> None:
        cutoff = int((time.time() - self.expiry_s) * 1000)
        expired = await self.store.expire_multipart(cutoff)
        if expired:
            log.info(
                "%d multipart upload(s) abandoned over %.0f s ago removed", expired, self.expiry_s
            )
