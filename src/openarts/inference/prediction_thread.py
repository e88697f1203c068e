"""The single thread predictions run on, so the event loop keeps answering meanwhile.

One thread, because model code is rarely thread-safe and the GIL would serialise it
anyway; requests queue in arrival order. A prediction that runs past the time limit is
answered 504 at once, but its thread cannot be stopped: it finishes in the background
and the requests queued behind it wait for it. The thread is a daemon so a stuck
prediction cannot hold the process open at exit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable

from openarts.inference.errors import PREDICTION_FAILED, Response, error_response

logger = logging.getLogger(__name__)

Handler = Callable[[bytes | None, bytes, bytes], Response]
_Job = tuple["asyncio.Future[Response]", bytes | None, bytes, bytes]


def _settle(future: asyncio.Future[Response], response: Response) -> None:
    # Whichever of the result and the time limit comes first answers the request.
    if not future.done():
        future.set_result(response)


class PredictionThread:
    def __init__(self, handle: Handler, timeout_s: float) -> None:
        self._handle = handle
        self._timeout_s = timeout_s
        self._timeout_response = error_response(
            504, PREDICTION_FAILED, f"the prediction did not finish within {timeout_s:g} s"
        )
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="prediction", daemon=True)
        self._thread.start()

    async def run(self, content_type: bytes | None, body: bytes, query: bytes) -> Response:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response] = loop.create_future()
        self._jobs.put((future, content_type, body, query))
        timer = loop.call_later(self._timeout_s, _settle, future, self._timeout_response)
        try:
            return await future
        finally:
            timer.cancel()

    def close(self) -> None:
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, content_type, body, query = job
            try:
                response = self._handle(content_type, body, query)
            # The handler answers failures itself; a bug in it must not end the thread.
            except BaseException as exc:
                logger.exception("prediction thread failed")
                response = error_response(500, PREDICTION_FAILED, f"internal error: {exc}")
            try:
                future.get_loop().call_soon_threadsafe(_settle, future, response)
            except RuntimeError:
                # The loop closed while this prediction ran: the server is gone.
                return
