"""Progress of a long loop on stderr, wherever it runs.

On a terminal, a rich progress bar. Elsewhere (``nohup``, CI logs), where a live bar draws
nothing until it ends, one plain line every :data:`REPORT_EVERY_S` seconds and one at the end,
e.g. ``teacher: 120/684 steps, loss 0.6412, 31.5 ex/s, 3:02 elapsed``. Nothing inside pipeline
worker processes (``MOEKD_QUIET_PROGRESS=1``), whose pool reports for them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: Set in worker processes: their loops keep their progress to themselves.
QUIET_ENV = "MOEKD_QUIET_PROGRESS"
#: Seconds between two plain progress lines when stderr is not a terminal.
REPORT_EVERY_S = 30.0


def progress_bars_enabled() -> bool:
    """False inside a worker: several processes drawing bars on one terminal garble it."""
    return os.environ.get(QUIET_ENV) != "1"


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # a closed stream
        return False


def _clock_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LiveProgress:
    """``with LiveProgress("teacher", total, unit="steps") as p: ... p.advance()``.

    ``details`` returns what follows the count (``"loss 0.64, 31 ex/s"``); ``elapsed``: whether
    plain lines end with the wall time. ``enabled=False`` shows nothing (say, every process of
    a launch but the main one)."""

    def __init__(
        self,
        description: str,
        total: int,
        completed: int = 0,
        *,
        unit: str = "",
        details: Callable[[], str] | None = None,
        elapsed: bool = True,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.description = description
        self.total = total
        self.completed = completed
        self.unit = unit
        self.details = details
        self.elapsed = elapsed
        self.stream = stream if stream is not None else sys.stderr
        self.interval = REPORT_EVERY_S if interval is None else interval
        self.clock = clock
        self.started = self._last_report = clock()  # reset on entering
        self._reported: int | None = None  # ``completed`` at the last plain line
        if not (enabled and progress_bars_enabled()):
            self.mode = "off"
        else:
            self.mode = "bar" if is_terminal(self.stream) else "lines"
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def line(self) -> str:
        text = f"{self.description}: {self.completed}/{self.total}"
        text += f" {self.unit}" if self.unit else ""
        text += f", {self.details()}" if self.details else ""
        if self.elapsed:
            text += f", {_clock_text(self.clock() - self.started)} elapsed"
        return text

    def __enter__(self) -> LiveProgress:
        self.started = self._last_report = self.clock()
        if self.mode == "bar":
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[details]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
            )
            self._bar.start()
            self._task = self._bar.add_task(
                self.description, total=self.total, completed=self.completed, details=""
            )
        return self

    def advance(self, steps: int = 1) -> None:
        self.completed += steps
        if self._bar is not None and self._task is not None:
            details = self.details() if self.details else ""
            self._bar.update(self._task, advance=steps, details=details)
        elif self.mode == "lines" and self.clock() - self._last_report >= self.interval:
            self._report()

    def _report(self) -> None:
        print(self.line(), file=self.stream, flush=True)
        self._reported = self.completed
        self._last_report = self.clock()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self.mode == "lines" and self._reported != self.completed:
            self._report()  # the end (or where an error stopped the loop)
