"""File bodies as ASGI messages, and the one-behind steps that hash and write uploads."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from openarts.obs_endpoint.file_body import ZEROCOPY, FileSliceResponse
from openarts.storage.in_order import InOrderSteps


async def _sent(tmp_path: Path, scope: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    path = tmp_path / "object"
    path.write_bytes(bytes(range(256)) * 8192)  # 2 MiB
    handle = path.open("rb")
    response = FileSliceResponse(
        handle, 1000, 1_500_000, status_code=206, headers={"Content-Length": "1500000"}
    )
    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    async def receive() -> Any:
        return {"type": "http.disconnect"}

    await response(scope, receive, send)
    return messages, handle


async def test_without_the_extension_the_slice_goes_as_body_blocks(tmp_path: Path) -> None:
    messages, handle = await _sent(tmp_path, {"type": "http"})
    assert messages[0]["status"] == 206
    body = b"".join(m.get("body", b"") for m in messages[1:])
    assert body == (bytes(range(256)) * 8192)[1000:1_501_000]
    assert messages[-1]["more_body"] is False
    assert handle.closed


async def test_with_the_extension_the_file_is_handed_to_the_server(tmp_path: Path) -> None:
    messages, handle = await _sent(tmp_path, {"type": "http", "extensions": {ZEROCOPY: {}}})
    assert [m["type"] for m in messages] == ["http.response.start", ZEROCOPY]
    assert messages[1]["offset"] == 1000 and messages[1]["count"] == 1_500_000
    assert handle.closed  # the server has sent it by the time send returns


async def test_steps_run_in_order_one_behind_and_errors_surface() -> None:
    done: list[int] = []
    steps = InOrderSteps()
    for number in range(5):
        await steps.add(done.append, number)
    await steps.finish()
    assert done == [0, 1, 2, 3, 4]

    def fails(_: int) -> None:
        raise OSError("disk full")

    await steps.add(fails, 1)
    with pytest.raises(OSError, match="disk full"):
        await steps.add(done.append, 99)
    assert 99 not in done


async def test_a_cancelled_stream_waits_for_its_step_before_going_on() -> None:
    started, order = threading.Event(), []

    def slow(_: int) -> None:
        started.set()
        time.sleep(0.3)
        order.append("step ended")

    async def stream() -> None:
        steps = InOrderSteps()
        try:
            await steps.add(slow, 1)
            await asyncio.sleep(10)
        finally:
            await steps.settle()
            order.append("stream cleaned up")

    task = asyncio.create_task(stream())
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert order == ["step ended", "stream cleaned up"]
