"""Liveness, open to everyone; it also says what isolation users' code gets, so that a
server whose sandbox is off cannot pass for one whose sandbox is on, and whether
container images run here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openarts.api.deps import parts_of

router = APIRouter(tags=["Health"])


@router.get("/health", summary="Liveness check (no authentication)")
async def health(request: Request) -> dict[str, Any]:
    parts = parts_of(request)
    images = parts.backend.images_report
    return {
        "status": "ok",
        "sandbox": parts.sandbox.to_json(),
        "images": {"enabled": images.enabled, "summary": images.summary},
        "registry": {
            "enabled": parts.registry_status.enabled,
            "summary": parts.registry_status.summary,
            "address": parts.registry_status.address,
            "kind": parts.registry_status.kind,
        },
    }
