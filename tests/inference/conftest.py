from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.inference.serving import ModelServer

ServeFactory = Callable[..., ModelServer]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    path = tmp_path / "model"
    path.mkdir()
    return path


@pytest.fixture
def serve() -> Iterator[ServeFactory]:
    """``serve(model_dir, *args, wait=True)`` starts a server; every one is stopped after."""
    servers: list[ModelServer] = []

    def start(model_dir: Path, *args: str, wait: bool = True) -> ModelServer:
        server = ModelServer(model_dir, args)
        servers.append(server)
        server.launch()
        if wait:
            server.wait_ready()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
