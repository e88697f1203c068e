"""One path for intent: a use case records what the user asked for, and once its
transaction has committed the loops that act on it are told to look again.

A service calls ``hint(session, Hint.X)`` inside its transaction; nothing is said if
the transaction rolls back, and nothing before the commit, so a loop never wakes to find
the change not there yet. Who listens is the composition root's business (it maps each
hint to the loops that follow it); a use case names what changed, never a loop.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from openarts.db.engine import after_commit


class Hint(StrEnum):
    """What changed."""

    # Work to admit, start or stop (a workload was queued or asked to stop).
    WORKLOADS = "workloads"
    # A training job was created or asked to terminate.
    TRAINING = "training"
    # A workload's status moved (its owner has something to notice).
    WORKLOAD_MOVED = "workload-moved"
    # A notebook instance was created, changed, or asked to start, stop or go.
    NOTEBOOKS = "notebooks"
    # An image is gone: the packages saved for it can be removed.
    IMAGES = "images"
    # A model was imported or deleted.
    MODELS = "models"
    # A service was deployed, changed, or asked to start, stop or go.
    SERVICES = "services"
    # Where a service's calls go may have changed.
    ROUTES = "routes"


def hint(session: Session | AsyncSession, *hints: Hint) -> None:
    """Tell the loops that follow ``hints`` to look again once ``session`` commits."""
    after_commit(session, *hints)
