"""Progress of an attack run on stderr: functions done (of total), successes, queries per second.

On a terminal, a rich progress bar; otherwise (CI logs, ``nohup``) one plain line every
:data:`REPORT_EVERY_S` seconds and one at the end, e.g.
``mhm: 12/20 functions, 7 successes, 118 queries/s``. Nothing inside pipeline worker processes
(``MOEKD_QUIET_PROGRESS=1``), whose pool draws its own bar. Queries per second counts the model
queries of the records attacked in this run (``record.queries``, originals included) over the
wall time since the progress started; records resumed from a shard count as done (and their
successes as successes) but spent no queries now.
"""

from __future__ import annotations

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

from moekd.parallel import progress_bars_enabled

#: Seconds between two plain progress lines when stderr is not a terminal.
REPORT_EVERY_S = 30.0


class AttackProgress:
    """``with AttackProgress(...) as progress: ... progress.advance(success, queries)``.

    ``rank``/``world``: under several processes each reports its own shard; on a terminal only
    the first process draws (several live bars on one terminal garble each other)."""

    def __init__(
        self,
        description: str,
        total: int,
        completed: int = 0,
        successes: int = 0,
        *,
        rank: int = 0,
        world: int = 1,
        stream: TextIO | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if world > 1:
            description = f"{description} (process {rank + 1} of {world})"
        self.description = description
        self.total = total
        self.completed = completed
        self.successes = successes
        self.queries = 0
        self.stream = stream if stream is not None else sys.stderr
        self.interval = REPORT_EVERY_S if interval is None else interval
        self.clock = clock
        self.started = self._last_report = clock()  # reset on entering
        self._reported: int | None = None  # ``completed`` at the last plain line
        terminal = _is_terminal(self.stream)
        enabled = progress_bars_enabled()
        self.mode = "off" if not enabled else "bar" if terminal else "lines"
        if self.mode == "bar" and rank != 0:
            self.mode = "off"
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    @property
    def rate(self) -> float:
        """Model queries of this run per second of wall time since entering."""
        return self.queries / max(self.clock() - self.started, 1e-9)

    def line(self) -> str:
        return (
            f"{self.description}: {self.completed}/{self.total} functions, "
            f"{self.successes} successes, {self.rate:.0f} queries/s"
        )

    def __enter__(self) -> AttackProgress:
        self.started = self._last_report = self.clock()
        if self.mode == "bar":
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[successes]} successes"),
                TextColumn("{task.fields[rate]:.0f} queries/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
            )
            self._bar.start()
            self._task = self._bar.add_task(
                self.description,
                total=self.total,
                completed=self.completed,
                successes=self.successes,
                rate=0.0,
            )
        return self

    def advance(self, success: bool, queries: int) -> None:
        """One more function attacked: ``success`` and its model ``queries``."""
        self.completed += 1
        self.successes += int(success)
        self.queries += queries
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, successes=self.successes, rate=self.rate)
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
            self._report()  # the end (or where an error stopped the run)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # a closed stream
        return False
