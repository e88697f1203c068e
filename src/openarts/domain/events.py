"""Event kinds shared by every resource that records events."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class EventResource(StrEnum):
    """Resource kinds whose events ``GET /v1/{project_id}/events`` serves.

    The reference lists ``pools``; later resources add their kinds here.
    """

    POOLS = "pools"
    NETWORKS = "networks"
    # Notebook instances' own (their start's steps: pulling an image, preparing an
    # environment), by instance name, as notebooks record them.
    NOTEBOOK = "notebook"
