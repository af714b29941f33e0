"""A structural attack: MHM's Metropolis-Hastings search over compositions of the
semantics-preserving rewrites of :mod:`moekd.cparse.transforms` (loops, branches, operands,
assignments, dead code, declarations) instead of over identifier names, so robustness is also
measured under a transformation that renaming defences cannot undo.

Each iteration draws ``candidates`` proposals, each the current code under one random rewrite
(with its own random choices: dead-code names, the statement a dead branch copies), scores them
in one batch and accepts the one that lowers p(true label) most by MHM's rule. Every rewrite
keeps the program's behaviour by construction and never adds parse errors, so a composition of
them does neither.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from moekd.attacks.goals import Goal
from moekd.attacks.queries import QueryEngine
from moekd.attacks.strategies import mh_accept
from moekd.cparse.transforms import TRANSFORMATIONS, transform

#: Every structural rewrite (renaming is the other attacks' business).
STRUCTURAL = tuple(name for name, t in TRANSFORMATIONS.items() if t.rule is not None)


@dataclass(frozen=True)
class StructuralRewrites:
    """The transformation of a structural attack: the rewrites it may compose."""

    relations: tuple[str, ...] = STRUCTURAL

    def applicable(self, code: str, seed: str) -> list[str]:
        """The rewrites that change ``code`` at all."""
        return [r for r in self.relations if transform(code, r, random.Random(seed)) is not None]


@dataclass(frozen=True)
class StructuralMH:
    candidates: int = 10
    iterations: int = 100

    def explore(
        self,
        code: str,
        label: int,
        relations: Sequence[str],
        engine: QueryEngine,
        goal: Goal,
        original: np.ndarray,
        rng: random.Random,
    ) -> tuple[str, np.ndarray] | None:
        """An adversarial variant of ``code`` and the model's row for it, or None when the
        budget or the iterations ran out first."""
        state, current = code, goal.score(original, label)
        for _ in range(self.iterations):
            if engine.exhausted:
                return None
            proposals = []
            for _ in range(self.candidates):
                relation = relations[rng.randrange(len(relations))]
                variant = transform(state, relation, random.Random(rng.random()))
                if variant is not None:
                    proposals.append(variant.code)
            if not proposals:
                return None
            rows = engine.query(proposals)
            for proposal, row in zip(proposals, rows, strict=False):
                if goal.reached(row, label):
                    return proposal, row
            if len(rows) == 0:
                return None
            scores = [goal.score(row, label) for row in rows]
            best = int(np.argmin(scores))
            if mh_accept(current, scores[best], rng.random()):
                state, current = proposals[best], scores[best]
        return None
