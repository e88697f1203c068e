"""Liveness, open to everyone; it also says what isolation users' code gets, so that a
server whose sandbox is off cannot pass for one whose sandbox is on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openarts.api.deps import parts_of

router = APIRouter(tags=["Health"])


@router.get("/health", summary="Liveness check (no authentication)")
async def health(request: Request) -> dict[str, Any]:
    return {"status": "ok", "sandbox": parts_of(request).sandbox.to_json()}
