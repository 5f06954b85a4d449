"""Sweep progress on stderr: a redrawn bar on a terminal, occasional lines otherwise.

Progress is an opt-in hook of :func:`npusim.sweep.run_sweep` (model code never prints).
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class ProgressHook(Protocol):
    """Told once how many points will run, then once per finished point."""

    def start(self, total: int, skipped: int) -> None: ...

    def advance(self, failed: bool) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    """A hook that reports nothing."""

    def start(self, total: int, skipped: int) -> None:
        pass

    def advance(self, failed: bool) -> None:
        pass

    def finish(self) -> None:
        pass


class ProgressBar:
    """``[#####.....] 24/48 done, 1 failed, ETA 3 s`` on ``stream``.

    On a terminal the bar is redrawn in place; on a pipe or file a line is printed at most
    every ``interval_s`` seconds and once at the end. The ETA is the mean time per finished
    point times the points left (a plain linear estimate).
    """

    def __init__(
        self, stream: TextIO | None = None, interval_s: float = 5.0, width: int = 30
    ) -> None:
        self.stream = stream or sys.stderr
        self.is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s
        self.width = width
        self.total = 0
        self.done = 0
        self.failed = 0
        self._start_s = 0.0
        self._last_print_s = 0.0
        self._last_line = ""

    def start(self, total: int, skipped: int) -> None:
        self.total = total
        self._start_s = self._last_print_s = time.monotonic()
        if skipped:
            self._write(f"resuming: {skipped} finished point(s) skipped, {total} to run\n")
        self._draw(force=True)

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        self._draw(force=False)

    def finish(self) -> None:
        self._draw(force=True)
        if self.is_tty:
            self._write("\n")

    def line(self) -> str:
        """The current progress text (without bar when not on a terminal)."""
        elapsed_s = time.monotonic() - self._start_s
        left = self.total - self.done
        eta = f"ETA {_duration(elapsed_s / self.done * left)}" if self.done and left else (
            f"took {_duration(elapsed_s)}" if not left else "ETA ?")  # fmt: skip
        text = f"{self.done}/{self.total} done, {self.failed} failed, {eta}"
        if not self.is_tty:
            return f"sweep: {text}"
        filled = self.width * self.done // self.total if self.total else self.width
        return f"[{'#' * filled}{'.' * (self.width - filled)}] {text}"

    def _draw(self, force: bool) -> None:
        now = time.monotonic()
        if self.is_tty:
            self._write(f"\r{self.line()}\x1b[K")
        elif (force or now - self._last_print_s >= self.interval_s) and (
            self.line() != self._last_line
        ):
            self._last_line = self.line()
            self._write(self._last_line + "\n")
            self._last_print_s = now

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
