"""Password guessing, slowed: failed logins are counted per user name and client
address, and past a limit in a window that pair is refused at once, without its password
being checked, until the window has passed. A client's failures over all names are
counted too, with a higher limit: one address cannot try many names (nor push the
counts of a name it guesses out of memory with made-up ones).

In memory and per process (with ``--workers`` each process counts its own): it is a
brake on guessing from one place, not an account lock-out, so a flood from elsewhere
cannot lock a user out of their own account. Behind a proxy every client is the proxy's
address (the server does not trust forwarded headers).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

# Ten wrong passwords in five minutes from one address, for one name ...
LIMIT = 10
# ... and a hundred from one address over every name.
CLIENT_LIMIT = 100
WINDOW_S = 300.0
# Counts kept at most (expired ones are dropped first, then the oldest): memory stays
# bounded whatever is sent.
MAX_KEYS = 10_000
_ANY_NAME = "\0any"


@dataclass
class LoginThrottle:
    limit: int = LIMIT
    client_limit: int = CLIENT_LIMIT
    window_s: float = WINDOW_S
    max_keys: int = MAX_KEYS
    clock: Callable[[], float] = time.monotonic
    # (name, client) -> the times of its recent failures, oldest first.
    _failures: OrderedDict[tuple[str, str], list[float]] = field(default_factory=OrderedDict)

    def retry_after(self, name: str, client: str) -> float:
        """Seconds until ``name`` may be tried again from ``client``; 0: now."""
        return max(
            self._wait((name.lower(), client), self.limit),
            self._wait((_ANY_NAME, client), self.client_limit),
        )

    def failed(self, name: str, client: str) -> None:
        self._count((name.lower(), client), self.limit)
        self._count((_ANY_NAME, client), self.client_limit)
        if len(self._failures) > self.max_keys:
            since = self.clock() - self.window_s
            for key in [k for k, times in self._failures.items() if times[-1] <= since]:
                del self._failures[key]
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, name: str, client: str) -> None:
        self._failures.pop((name.lower(), client), None)

    def _wait(self, key: tuple[str, str], limit: int) -> float:
        recent = self._recent(key)
        if len(recent) < limit:
            return 0.0
        return max(0.0, recent[-limit] + self.window_s - self.clock())

    def _count(self, key: tuple[str, str], limit: int) -> None:
        recent = self._recent(key)
        recent.append(self.clock())
        self._failures[key] = recent[-limit:]
        self._failures.move_to_end(key)

    def _recent(self, key: tuple[str, str]) -> list[float]:
        since = self.clock() - self.window_s
        return [at for at in self._failures.get(key, ()) if at > since]
