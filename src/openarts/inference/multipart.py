"""A ``multipart/form-data`` reader producing the shape ModelArts code expects.

Files become ``{field: {filename: BytesIO}}`` (one field may carry several files) and text
fields become plain strings, which is what the official samples iterate and what the
preset runtime built. The whole body is already in memory (the gateway bounds its size),
so this splits bytes rather than streaming.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import unquote

# One ``key=value`` parameter of a header: the value plain or quoted with escapes.
_PARAMETER = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class MultipartError(ValueError):
    pass


def parse_header_parameters(value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="a"; filename="b"`` -> (``form-data``, {name: a, filename: b}).

    Parameter names are lower-cased; ``filename*=UTF-8''...`` (RFC 5987) is decoded and
    wins over a plain ``filename``.
    """
    head, _, rest = value.partition(";")
    parameters: dict[str, str] = {}
    for match in _PARAMETER.finditer(";" + rest):
        name, raw = match.group(1).lower(), match.group(2).strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if name.endswith("*"):
            charset, _, encoded = raw.partition("''")
            raw = unquote(encoded, encoding=charset or "utf-8", errors="replace")
            name = name[:-1]
        elif name in parameters:
            continue
        parameters[name] = raw
    return head.strip().lower(), parameters


def parse_multipart(body: bytes, boundary: str) -> dict[str, Any]:
    if not boundary:
        raise MultipartError("multipart/form-data without a boundary parameter")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("the multipart body does not contain its boundary")
    fields: dict[str, Any] = {}
    position = start + len(delimiter)
    while not body.startswith(b"--", position):
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise MultipartError("the multipart body ends inside a boundary line")
        part_start = line_end + 2
        part_end = body.find(b"\r\n" + delimiter, part_start)
        if part_end < 0:
            raise MultipartError("the multipart body is not terminated by its boundary")
        _add_part(fields, body[part_start:part_end])
        position = part_end + 2 + len(delimiter)
    return fields


def _add_part(fields: dict[str, Any], part: bytes) -> None:
    if part.startswith(b"\r\n"):
        header_block, content = b"", part[2:]
    else:
        header_block, separator, content = part.partition(b"\r\n\r\n")
        if not separator:
            raise MultipartError("a multipart part has no blank line after its headers")
    headers: dict[str, str] = {}
    for line in header_block.split(b"\r\n"):
        header, colon, value = line.decode("utf-8", "replace").partition(":")
        if colon:
            headers[header.strip().lower()] = value.strip()
    _, disposition = parse_header_parameters(headers.get("content-disposition", ""))
    name = disposition.get("name")
    if name is None:
        raise MultipartError("a multipart part has no Content-Disposition name")
    filename = disposition.get("filename")
    if filename is not None:
        files = fields.get(name)
        if not isinstance(files, dict):
            files = fields[name] = {}
        files[filename] = io.BytesIO(content)
        return
    if name in fields:
        # The first value of a repeated text field wins, as the preset runtime's form did.
        return
    _, content_type = parse_header_parameters(headers.get("content-type", "text/plain"))
    fields[name] = content.decode(content_type.get("charset", "utf-8"), "replace")
