"""The only door from an attack to the model: batching, a cache, a budget and exact counts.

Counting rule (the one every figure in a report uses): a *query* is one distinct code string
whose prediction came from the model. Strings already answered for this example are served from
the cache and are not queries (an attacker that re-asks the same question learns nothing new);
they are counted apart as ``cache_hits``. The original function's prediction is a query too. The
budget caps queries, never cache hits, so a search that revisits old states is not punished.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from moekd.models.classifier import CodeClassifier


class QueryEngine:
    """Answers ``p(label | code)`` for one attacked example within a query budget.

    ``batched=True`` sends all new strings of one ``query`` call to ``predict_proba`` at once;
    ``batched=False`` sends them one call each (the baseline the speed bench compares against).
    """

    def __init__(
        self, model: CodeClassifier, budget: int | None = None, batched: bool = True
    ) -> None:
        if budget is not None and budget < 1:
            raise ValueError("a query budget must be at least 1")
        self.model = model
        self.budget = budget
        self.batched = batched
        self.queries = 0
        self.cache_hits = 0
        self.model_calls = 0
        self._cache: dict[str, np.ndarray] = {}

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else self.budget - self.queries

    @property
    def exhausted(self) -> bool:
        return self.budget is not None and self.queries >= self.budget

    def seed(self, code: str, row: np.ndarray) -> None:
        """Record a prediction made elsewhere (the runner predicts originals in bulk) as a query."""
        if code not in self._cache:
            self._cache[code] = np.asarray(row, dtype=np.float64)
            self.queries += 1

    def query(self, codes: Sequence[str]) -> np.ndarray:
        """Rows ``[p(0), p(1)]`` for the longest prefix of ``codes`` the budget allows.

        Cached strings are always answered; the prefix ends at the first new string that no
        longer fits, so callers zip the rows with their candidates and stop when ``exhausted``.
        """
        fit = len(codes)
        new: list[str] = []
        seen: set[str] = set()
        for i, code in enumerate(codes):
            if code in self._cache or code in seen:
                continue
            if self.remaining is not None and len(new) >= self.remaining:
                fit = i
                break
            new.append(code)
            seen.add(code)
        self._ask(new)
        self.cache_hits += fit - len(new)
        rows = [self._cache[c] for c in codes[:fit]]
        return np.stack(rows) if rows else np.zeros((0, 2))

    def _ask(self, codes: list[str]) -> None:
        if not codes:
            return
        groups = [codes] if self.batched else [[c] for c in codes]
        for group in groups:
            proba = np.asarray(self.model.predict_proba(group), dtype=np.float64)
            if proba.shape != (len(group), 2):
                raise ValueError(f"predict_proba returned shape {proba.shape} for {len(group)}")
            self.model_calls += 1
            for code, row in zip(group, proba, strict=True):
                self._cache[code] = row
        self.queries += len(codes)
