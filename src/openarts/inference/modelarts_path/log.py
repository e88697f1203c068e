"""The top-level ``log`` module ModelArts inference code imports.

Samples write ``import log; logger = log.getLogger(__name__)`` and expect their INFO lines
in the service log, so loggers from here log at INFO whatever the root level is.
"""

from __future__ import annotations

import logging

LEVEL = logging.INFO


def getLogger(name: str | None = None) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(LEVEL)
    return logger
