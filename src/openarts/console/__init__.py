"""The web console: server-rendered pages at /console, built only from the public API.

``create_console(front)`` makes it an application of its own (the composition root
serves it on the console's port, an origin of its own): its routes, its static files and
what its own exceptions answer. Every page calls the platform's ``front`` (the API behind
the inference gateway and the notebook proxy) in process, with the user's token.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp

from openarts.console import errors, session, static
from openarts.console.pages import (
    account,
    catalog,
    events,
    images,
    notebooks,
    overview,
    pools,
    services,
    training,
)


def create_console(
    front: ASGIApp,
    *,
    infer_timeout_s: float,
    sandbox_warning: str | None = None,
    admin_password_file: Path | None = None,
) -> FastAPI:
    """The console, calling ``front`` for everything it shows; test requests to a service
    wait ``infer_timeout_s`` for the answer (the gateway's own limit), and a little more.
    ``sandbox_warning``, when users' code runs unsandboxed, tops every page.
    ``admin_password_file`` (Settings.admin_password_file) is where the sign-in page says
    the first start's admin password is; without it, the page names the default place."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.front = front
    app.state.infer_timeout_s = infer_timeout_s
    app.state.sandbox_warning = sandbox_warning
    app.state.admin_password_file = admin_password_file
    for module in (
        static,
        session,
        account,
        overview,
        notebooks,
        training,
        catalog,
        images,
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
    return app
