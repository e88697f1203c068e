"""create_app(): the API application, with its routers, middleware and OpenAPI document.

It serves the platform it is given (``ApiParts``) and builds none of it: the composition
root (``openarts.server``) makes the parts, runs the loops and passes a lifespan.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from openarts import __version__
from openarts.api.deps import ApiParts
from openarts.api.errors import RequestContextMiddleware, install_error_handlers
from openarts.api.routers import (
    algorithms,
    authorizations,
    events,
    health,
    iam,
    images,
    metrics,
    models,
    networks,
    notebooks,
    plugin_templates,
    pool_tags,
    pools,
    registry,
    resources,
    services,
    training_catalog,
    training_jobs,
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

ROUTERS = (
    health,
    iam,
    authorizations,
    events,
    resources,
    pool_tags,
    pools,
    networks,
    plugin_templates,
    algorithms,
    training_jobs,
    training_catalog,
    notebooks,
    images,
    models,
    services,
    metrics,
    registry,
)


def create_app(parts: ApiParts, *, lifespan: Lifespan | None = None) -> FastAPI:
    app = FastAPI(
        title="OpenArts",
        version=__version__,
        description="A self-hosted machine-learning platform implementing the ModelArts API.",
        lifespan=lifespan,
    )
    app.state.parts = parts
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=parts.settings.max_body_bytes)
    for module in ROUTERS:
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _contract_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _contract_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with our real error answers instead of FastAPI's 422."""
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    components["securitySchemes"] = {
        "ApiTokenAuth": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
        "AkSkAuth": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "SDK-HMAC-SHA256 signature, as the Huawei Cloud SDKs send it.",
        },
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
            if path.startswith(("/v1/", "/v2/")):
                operation["security"] = [{"ApiTokenAuth": []}, {"AkSkAuth": []}]
    return schema
