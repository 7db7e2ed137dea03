"""A progress bar on stderr for long runs.

Drawn only when the stream is a terminal, never before ``delay`` seconds (a
run of a second prints nothing), at most ten times a second, on one line that
is erased when the run ends, so the findings and the summary never mix with it.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, TextIO

#: Runs shorter than this never show a bar.
DELAY = 1.0
_INTERVAL = 0.1
_WIDTH = 24


class ProgressBar:
    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool = True,
        delay: float = DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.enabled = enabled and _is_tty(stream)
        self.delay = delay
        self.clock = clock
        self.began = clock()
        self.label = ""
        self.total: Optional[int] = None
        self.done = 0
        self._drawn_at: Optional[float] = None

    # -- runner.Progress --------------------------------------------------------

    def stage(self, label: str) -> None:
        self.label = label
        self._draw()

    def start(self, total: int) -> None:
        self.label, self.total, self.done = "", total, 0
        self._draw()

    def advance(self) -> None:
        self.done += 1
        self._draw()

    # -- drawing ---------------------------------------------------------------------

    def line(self) -> str:
        """The text of the bar now (without the carriage return)."""
        elapsed = int(self.clock() - self.began)
        if self.total is None:
            return f"opslint: {self.label}... {elapsed}s"
        total = max(self.total, 1)
        filled = min(_WIDTH, _WIDTH * self.done // total)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        return f"opslint: [{bar}] {self.done}/{self.total} files {elapsed}s"

    def _draw(self) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.began < self.delay:
            return
        if self._drawn_at is not None and now - self._drawn_at < _INTERVAL and self.done != self.total:
            return
        self._drawn_at = now
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()

    def close(self) -> None:
        """Erase the bar (if it was ever drawn)."""
        if self._drawn_at is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn_at = None


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
