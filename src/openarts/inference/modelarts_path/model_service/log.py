"""``from model_service import log``, as the preset runtime's own modules imported it.

The same behaviour as the top-level ``log`` module, written out because a module here
cannot import that one by a name the type checker also resolves.
"""

from __future__ import annotations

import logging

LEVEL = logging.INFO


def getLogger(name: str | None = None) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(LEVEL)
    return logger
