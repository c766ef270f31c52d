# SPDX-License-Identifier: Apache-2.0
"""Progress of the long CLI jobs on stderr (``backtest``): a bar redrawn in place when stderr is a
terminal, one line per step otherwise (logs, CI), nothing with ``--quiet``. Standard output is
never touched, so the results piped from a command are the same with or without progress."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]

_BAR = 30  # characters of the bar


class Progress:
    """Callable as ``progress(done, total, label)``: ``done`` of ``total`` steps finished, ``label``
    naming the step about to run (or ``"done"`` at the end)."""

    def __init__(self, stream: TextIO, command: str, quiet: bool = False, tty: bool | None = None) -> None:
        self.stream = stream
        self.command = command
        self.quiet = quiet
        if tty is None:
            try:
                tty = stream.isatty()
            except (AttributeError, ValueError):
                tty = False
        self.tty: bool = tty
        self.start = time.monotonic()
        self._drawn = False

    def __call__(self, done: int, total: int, label: str) -> None:
        if self.quiet or total <= 0:
            return
        elapsed = time.monotonic() - self.start
        if self.tty:
            filled = _BAR * done // total
            line = "\r%s [%s%s] %d/%d %5.1fs %s" % (self.command, "#" * filled, "." * (_BAR - filled), done, total,
                                                   elapsed, label[:40])
            self.stream.write(line + "\x1b[K")  # erase what a longer label left
            if done >= total:
                self.stream.write("\n")
            self._drawn = done < total
        elif done >= total:
            self.stream.write("%s: %d/%d done in %.1f s\n" % (self.command, done, total, elapsed))
        else:
            self.stream.write("%s: %d/%d %s (%.1f s)\n" % (self.command, done + 1, total, label, elapsed))
        self.stream.flush()

    def abandon(self) -> None:
        """Ends a bar left half drawn (the job failed), so that an error message starts on its own line."""
        if self._drawn and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
