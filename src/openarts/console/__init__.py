"""The web console: server-rendered pages at /console, built only from the public API.

``install(app)`` mounts it on the API application (create_app does it): its routes, its
static files and what its own exceptions answer.
"""

from __future__ import annotations

from fastapi import FastAPI

from openarts.console import errors, session, static
from openarts.console.pages import (
    account,
    catalog,
    events,
    notebooks,
    overview,
    pools,
    services,
    training,
)


def install(app: FastAPI) -> None:
    for module in (
        static,
        session,
        account,
        overview,
        notebooks,
        training,
        catalog,
        services,
        pools,
        events,
    ):
        app.include_router(module.router)
    # Last: any other path under /console is answered with a page in words.
    app.add_api_route(
        "/console/{path:path}",
        errors.not_found,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    errors.install(app)
