"""Password guessing, slowed: failed logins are counted per user name and client, and
past a limit in a window that pair is refused at once, without its password being
checked, until the window has passed.

In memory and per process (with ``--workers`` each process counts its own): it is a
brake on guessing from one place, not an account lock-out, so a flood from elsewhere
cannot lock a user out of their own account.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

# Ten wrong passwords in five minutes from one client, for one name.
LIMIT = 10
WINDOW_S = 300.0
# Pairs remembered at most (the oldest forgotten first): a flood of made-up names costs
# bounded memory.
MAX_KEYS = 10_000


@dataclass
class LoginThrottle:
    limit: int = LIMIT
    window_s: float = WINDOW_S
    max_keys: int = MAX_KEYS
    clock: Callable[[], float] = time.monotonic
    # key -> the times of its recent failures, oldest first.
    _failures: OrderedDict[tuple[str, str], list[float]] = field(default_factory=OrderedDict)

    def retry_after(self, name: str, client: str) -> float:
        """Seconds until ``name`` may be tried again from ``client``; 0: now."""
        recent = self._recent((name.lower(), client))
        if len(recent) < self.limit:
            return 0.0
        return max(0.0, recent[-self.limit] + self.window_s - self.clock())

    def failed(self, name: str, client: str) -> None:
        key = (name.lower(), client)
        recent = self._recent(key)
        recent.append(self.clock())
        self._failures[key] = recent[-self.limit :]
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, name: str, client: str) -> None:
        self._failures.pop((name.lower(), client), None)

    def _recent(self, key: tuple[str, str]) -> list[float]:
        since = self.clock() - self.window_s
        return [at for at in self._failures.get(key, ()) if at > since]
