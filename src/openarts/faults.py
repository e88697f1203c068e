"""Crash points for the tests of what survives a crash: a named point SIGKILLs this
process when ``OPENARTS_TEST_FAULT`` names it, as a power cut there would. Read once at
import; unset (always, outside those tests) a point is one comparison."""

from __future__ import annotations

import os
import signal

ARMED = os.environ.get("OPENARTS_TEST_FAULT", "")

# After a workload's tasks have started and before their handles are committed.
STARTED_NOT_RECORDED = "started-not-recorded"


def crash_point(name: str) -> None:
    if name == ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
