"""The console's own JavaScript and CSS and the vendored libraries, from the package."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from openarts import errors
from openarts.console.rendering import STATIC
from openarts.errors import OpenArtsError

router = APIRouter(prefix="/console/static", include_in_schema=False)

TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}


@router.get("/{path:path}")
async def static_file(path: str) -> FileResponse:
    root = STATIC.resolve()
    wanted = (root / path).resolve()
    # Only files inside the static folder, whatever the path says (no ../ escape).
    if not wanted.is_relative_to(root) or not wanted.is_file() or wanted.suffix not in TYPES:
        raise OpenArtsError(errors.PATH_NOT_FOUND, f"No console file {path}.")
    return FileResponse(
        wanted,
        media_type=TYPES[wanted.suffix],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
