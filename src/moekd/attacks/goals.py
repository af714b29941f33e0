"""What an attack is after. Searches only see ``score`` (lower is closer) and ``reached``."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Goal(Protocol):
    def score(self, row: np.ndarray, label: int) -> float:
        """Lower is better for the attacker; searches minimise it."""
        ...

    def reached(self, row: np.ndarray, label: int) -> bool: ...


class LabelFlip:
    """Untargeted: the predicted label is no longer the true one. The score is p(true label),
    the quantity ALERT's fitness and MHM's acceptance ratio are written in."""

    def score(self, row: np.ndarray, label: int) -> float:
        return float(row[label])

    def reached(self, row: np.ndarray, label: int) -> bool:
        return int(np.argmax(row)) != label

    def __repr__(self) -> str:
        return "LabelFlip()"
