"""From an HTTP request's content type, body and query string to what user code receives.

Two readings, chosen by the model:

- ``read_payload``: deep-learning services get the parsed JSON value, or for
  ``multipart/form-data`` a dict of files and text fields; URL query parameters are merged
  into the dict (they win on a clash, as in the preset runtime).
- ``read_json_text``: ML services (scikit-learn, XGBoost) accept JSON only and receive its
  text, which their samples ``json.loads`` themselves.

A body that cannot be read raises ``BodyError``, which the caller answers with 400.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from openarts.inference.multipart import MultipartError, parse_header_parameters, parse_multipart
from openarts.inference.request_text import RequestText


class BodyError(ValueError):
    pass


def read_payload(content_type: bytes | None, body: bytes, query: bytes) -> Any:
    payload = _read_body(content_type, body, bool(query))
    if query:
        parameters = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        # A JSON list or scalar has nowhere to take parameters; it goes through unchanged.
        if isinstance(payload, dict):
            payload.update(parameters)
    return payload


def read_json_text(content_type: bytes | None, body: bytes) -> RequestText:
    if not body.strip():
        raise BodyError("the request has no body; this model takes a JSON body")
    media_type = _media_type(content_type)
    if media_type and not _is_json_type(media_type) and not _looks_like_json(body):
        raise BodyError(f"this model takes a JSON body, not {media_type}")
    try:
        text = body.decode("utf-8-sig")
        return RequestText(text, json.loads(text))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError(f"the request body is not valid JSON: {exc}") from None


def _read_body(content_type: bytes | None, body: bytes, has_query: bool) -> Any:
    if content_type == b"application/json" and body:
        return _parse_json(body)
    if not body:
        if has_query:
            return {}
        raise BodyError("the request has no body; send JSON or multipart/form-data")
    media_type, parameters = parse_header_parameters(
        content_type.decode("latin-1") if content_type else ""
    )
    if media_type == "multipart/form-data":
        try:
            return parse_multipart(body, parameters.get("boundary", ""))
        except MultipartError as exc:
            raise BodyError(f"the multipart/form-data body is malformed: {exc}") from None
    # Clients such as ``curl -d`` label JSON as a form or not at all, so JSON is recognised
    # by its first character whatever the label says.
    if not media_type or _is_json_type(media_type) or _looks_like_json(body):
        return _parse_json(body)
    if media_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    raise BodyError(
        f"unsupported content type {media_type}; send application/json or multipart/form-data"
    )


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError(f"the request body is not valid JSON: {exc}") from None


def _media_type(content_type: bytes | None) -> str:
    if not content_type:
        return ""
    return content_type.split(b";", 1)[0].strip().lower().decode("latin-1")


def _is_json_type(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")
