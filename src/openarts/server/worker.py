"""One of several server processes (``openarts server --workers N``): the same server,
its settings read from the environment the first process prepared, without the start
announcement (the first process made it)."""

from __future__ import annotations

from openarts.server.app import create_server_app
from openarts.server.ports import PortRouter
from openarts.settings import Settings


def worker_app() -> PortRouter:
    """uvicorn's app factory in each worker process (the first process runs the
    registry for all)."""
    return create_server_app(Settings(), run_registry=False)
