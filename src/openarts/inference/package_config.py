"""The few keys of a model package's ``config.json`` the runtime needs.

The platform validates the whole file elsewhere; the runtime reads only what changes how
it serves, and reads it forgivingly, because a replica should not refuse a package the
platform accepted: the model type, the declared routes, and the feature names of an ML
model's request schema (they fix the column order of ``req_data`` rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
DEFAULT_ROUTE = ("POST", "/")


class PackageConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PackageConfig:
    model_type: str | None = None
    # (METHOD, url) pairs; always holds POST /.
    routes: tuple[tuple[str, str], ...] = (DEFAULT_ROUTE,)
    # Column order for ML request rows, when a request schema names the columns.
    feature_names: tuple[str, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def read_package_config(model_dir: Path) -> PackageConfig:
    """The package's config; a package without ``config.json`` gets the defaults."""
    path = model_dir / CONFIG_FILE
    if not path.is_file():
        return PackageConfig()
    return parse_package_config(path.read_text(encoding="utf-8-sig"))


def parse_package_config(text: str) -> PackageConfig:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PackageConfigError(f"{CONFIG_FILE} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise PackageConfigError(f"{CONFIG_FILE} must hold a JSON object")
    model_type = raw.get("model_type")
    apis = raw.get("apis")
    api_list = [api for api in apis if isinstance(api, dict)] if isinstance(apis, list) else []
    return PackageConfig(
        model_type=model_type if isinstance(model_type, str) and model_type else None,
        routes=_routes(api_list),
        feature_names=_feature_names(api_list),
        raw=raw,
    )


def _routes(apis: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    routes = [DEFAULT_ROUTE]
    for api in apis:
        method = api.get("method") or "POST"
        url = api.get("url") or "/"
        if not isinstance(method, str) or not isinstance(url, str):
            raise PackageConfigError(f"{CONFIG_FILE}: apis entry {api!r} has a bad method/url")
        if not url.startswith("/"):
            url = "/" + url
        route = (method.strip().upper(), url)
        if route not in routes:
            routes.append(route)
    return tuple(routes)


def _feature_names(apis: list[dict[str, Any]]) -> tuple[str, ...] | None:
    """Property names of ``request.data -> data -> req_data -> items``, in file order."""
    for api in apis:
        schema = _dig(api, "request", "data", "properties", "data", "properties", "req_data")
        items = schema.get("items") if isinstance(schema, dict) else None
        # Both the tuple form (a list with one row schema) and the plain form appear.
        if isinstance(items, list) and items:
            items = items[0]
        properties = _dig(items, "properties")
        if isinstance(properties, dict) and properties:
            return tuple(str(name) for name in properties)
    return None


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
