"""The state one attacked example carries through a search: its target, names, queries and goal.

Searches never call the model or the renamer themselves; they hand renamings to ``evaluate``,
which renames, queries the whole batch at once, scores it against the goal and remembers the
first success. That keeps every search a few lines of pure strategy.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from moekd.attacks.candidates import Substitutes
from moekd.attacks.goals import Goal
from moekd.attacks.queries import QueryEngine
from moekd.attacks.transform import Renaming, Target


@dataclass(frozen=True)
class Scored:
    """A renaming, the code it gives, its goal score (lower is better) and whether it won."""

    renaming: Renaming
    code: str
    score: float
    success: bool


@dataclass
class AttackContext:
    target: Target
    engine: QueryEngine
    goal: Goal
    substitutes: Substitutes
    rng: random.Random
    found: Scored | None = None
    trace: list[tuple[str, int]] = field(default_factory=list)  # (stage, batch size) per query

    @property
    def done(self) -> bool:
        """Stop searching: a success is in hand or the budget is spent."""
        return self.found is not None or self.engine.exhausted

    def evaluate(self, renamings: Sequence[Renaming], stage: str) -> list[Scored]:
        """Score the safe renamings among ``renamings`` with one batched query (budget allowing).

        Unsafe renamings (colliding new names) are dropped; the result may also be cut short by
        the budget. The lowest-scoring success of the batch becomes ``found``.
        """
        kept: list[tuple[Renaming, str]] = []
        for renaming in renamings:
            changed = self.target.changed(renaming)
            code = self.target.apply(changed)
            if code is not None:
                kept.append((changed, code))
        rows = self.engine.query([code for _, code in kept])
        self.trace.append((stage, len(kept)))
        label = self.target.label
        scored = [
            Scored(renaming, code, self.goal.score(row, label), self.goal.reached(row, label))
            for (renaming, code), row in zip(kept, rows, strict=False)
        ]
        wins = [s for s in scored if s.success]
        if wins and self.found is None:
            self.found = min(wins, key=lambda s: s.score)
        return scored

    def score_of(self, renaming: Renaming, stage: str) -> float | None:
        """The score of one renaming (usually cached), None if unsafe or over budget."""
        scored = self.evaluate([renaming], stage)
        return scored[0].score if scored else None
