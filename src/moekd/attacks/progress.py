"""Progress of an attack run on stderr: functions done (of total), successes, queries per second.

A :class:`moekd.progress.LiveProgress`: a bar on a terminal, else a plain line now and then and
one at the end, e.g. ``mhm: 12/20 functions, 7 successes, 118 queries/s``. Queries per second
counts the model queries of the records attacked in this run (``record.queries``, originals
included) over the wall time since the progress started; records resumed from a shard count as
done (and their successes as successes) but spent no queries now.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from moekd.progress import LiveProgress


class AttackProgress(LiveProgress):
    """``with AttackProgress(...) as progress: ... progress.advance_attack(success, queries)``.

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
        self.successes = successes
        self.queries = 0
        super().__init__(
            description,
            total,
            completed,
            unit="functions",
            details=lambda: f"{self.successes} successes, {self.rate:.0f} queries/s",
            elapsed=False,
            stream=stream,
            interval=interval,
            clock=clock,
        )
        if self.mode == "bar" and rank != 0:
            self.mode = "off"

    @property
    def rate(self) -> float:
        """Model queries of this run per second of wall time since entering."""
        return self.queries / max(self.clock() - self.started, 1e-9)

    def advance_attack(self, success: bool, queries: int) -> None:
        """One more function attacked: ``success`` and its model ``queries``."""
        self.successes += int(success)
        self.queries += queries
        self.advance()
