"""What a `wait` shows while it waits: a line on stderr for each change of status and
each event as it arrives, and, on a terminal, a spinner with the current status and the
time waited. With `-o json` only the answer is printed (on stdout), so that a script
reads one JSON document; the spinner, erased at the end, still shows on a terminal.

Every wait has a limit (its --timeout, 0 for none): past it the command exits 2."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Annotated, Any

import typer
from rich.status import Status

from openarts.cli.common import fail
from openarts.cli.output import err

HOUR_S = 3600.0
HALF_HOUR_S = 1800.0
# On its first look a wait shows only the latest events: the rest are history, which the
# family's `events` command lists.
FIRST_EVENTS = 10


def _limit(default: str) -> Any:
    return typer.Option(
        "--timeout",
        min=0,
        metavar="SECONDS",
        show_default=False,
        help=f"Give up after this many seconds, exit 2 (default {default}; 0: no limit).",
    )


JobWaitLimit = Annotated[float, _limit("3600: an hour")]
HalfHourLimit = Annotated[float, _limit("1800: half an hour")]


def clock(moment: Any) -> str:
    """An event's time as local HH:MM:SS, from epoch milliseconds or an ISO time."""
    try:
        if isinstance(moment, int | float):
            stamp = datetime.fromtimestamp(moment / 1000)
        else:
            stamp = datetime.fromisoformat(str(moment).replace("Z", "+00:00")).astimezone()
    except (ValueError, OverflowError, OSError):
        return time.strftime("%H:%M:%S")
    return stamp.strftime("%H:%M:%S")


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Watch:
    """One wait's display and deadline. ``subject`` names what is waited on in each line
    (``job train-1``)."""

    def __init__(self, subject: str, timeout_s: float, *, quiet: bool, poll_s: float) -> None:
        self.subject = subject
        self.timeout_s = timeout_s
        self.quiet = quiet
        self.poll_s = poll_s
        self.started = time.monotonic()
        self.last = ""
        self._seen: set[tuple[str, str]] = set()
        self._looked = False
        # A spinner only where a person watches: piped or redirected output gets plain
        # lines that a log keeps.
        live = sys.stdout.isatty() and err.is_terminal
        self._spinner = Status("", console=err, spinner="dots") if live else None

    def __enter__(self) -> Watch:
        if self._spinner is not None:
            self._spinner.start()
            self._refresh()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._spinner is not None:
            self._spinner.stop()

    def line(self, text: str, stamp: str | None = None) -> None:
        if not self.quiet:
            err.print(f"{stamp or time.strftime('%H:%M:%S')} {self.subject}: {text}")

    def state(self, text: str) -> None:
        """The current status, said when it changes."""
        if text != self.last:
            self.line(text)
            self.last = text
        self._refresh()

    def events(self, fresh: Iterable[tuple[str, str]]) -> None:
        """Events as (time, text), oldest first, as the API lists them now: those not
        shown yet are."""
        unseen = [event for event in fresh if event not in self._seen]
        self._seen.update(unseen)
        if not self._looked:
            self._looked = True
            if len(unseen) > FIRST_EVENTS:
                self.line(f"({len(unseen) - FIRST_EVENTS} earlier events not shown)")
                unseen = unseen[-FIRST_EVENTS:]
        for stamp, text in unseen:
            self.line(f"event: {text}", stamp)

    @property
    def overdue(self) -> bool:
        return bool(self.timeout_s) and time.monotonic() - self.started > self.timeout_s

    @property
    def waited(self) -> str:
        return f"{self.timeout_s:g} s"

    def follow(
        self,
        what: str,
        look: Callable[[], dict[str, Any]],
        *,
        name: Callable[[dict[str, Any]], str],
        describe: Callable[[dict[str, Any]], str],
        events: Callable[[], list[tuple[str, str]] | None],
        settled: Callable[[dict[str, Any]], bool],
    ) -> dict[str, Any]:
        """Look at ``what`` until it is ``settled``, saying each change of status and
        each new event (a server that lists none is asked no more); exit 2 past the
        limit. The last answer."""
        events_listed = True
        while True:
            shown = look()
            self.subject = name(shown)
            if events_listed:
                fresh = events()
                events_listed = fresh is not None
                self.events(fresh or [])
            self.state(describe(shown))
            if settled(shown):
                return shown
            if self.overdue:
                raise fail(
                    f"{what} still {describe(shown)} after {self.waited} "
                    "(--timeout 0 waits without limit)",
                    code=2,
                )
            self.pause()

    def pause(self) -> None:
        time.sleep(self.poll_s)
        self._refresh()

    def _refresh(self) -> None:
        if self._spinner is not None:
            waited = _elapsed(time.monotonic() - self.started)
            self._spinner.update(f"{self.subject}: {self.last or 'asking'} ({waited})")
