"""Liveness, open to everyone."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Health"])


@router.get("/health", summary="Liveness check (no authentication)")
async def health() -> dict[str, str]:
    return {"status": "ok"}
