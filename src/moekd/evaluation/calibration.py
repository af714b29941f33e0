"""How far a detector's probabilities can be trusted, and the operating threshold it ships with.

A shipped model's threshold is chosen on the validation split, never on test: the lowest
p(vulnerable) at which the flagged validation functions reach a stated precision (so recall is
as high as that precision allows). Calibration is measured on test: expected calibration error
over equal-width bins, the Brier score, and the reliability table a model card prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from moekd.errors import UserError

#: Flagged validation functions a threshold must rest on: a precision of 3 of 4 decides nothing.
MIN_FLAGGED = 30


@dataclass(frozen=True)
class Threshold:
    """The operating point: p(vulnerable) >= ``value`` is reported."""

    value: float
    target_precision: float
    precision: float  # on the validation split, at ``value``
    recall: float
    flagged: int  # validation functions at or above ``value``
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "target_precision": self.target_precision,
            "validation_precision": self.precision,
            "validation_recall": self.recall,
            "validation_flagged": self.flagged,
            "validation_n": self.n,
        }


def threshold_for_precision(
    labels: np.ndarray, scores: np.ndarray, target: float, min_flagged: int = MIN_FLAGGED
) -> Threshold:
    """The lowest score whose flagged set (score >= it) has precision >= ``target`` and holds
    at least ``min_flagged`` functions; a UserError when no such score exists."""
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=float)
    if not 0.0 < target <= 1.0:
        raise UserError(f"--precision must lie in (0, 1], not {target}")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    true_pos = np.cumsum(sorted_labels)
    flagged = np.arange(1, len(scores) + 1)
    # A threshold equal to a score flags every function with that score: take the last index
    # of each run of ties.
    last_of_tie = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    precision = true_pos / flagged
    ok = last_of_tie & (precision >= target) & (flagged >= min_flagged)
    if not ok.any():
        best = float(precision[last_of_tie & (flagged >= min_flagged)].max(initial=0.0))
        raise UserError(
            f"no threshold reaches precision {target:.2f} on the validation split with at least "
            f"{min_flagged} flagged functions (best: {best:.3f}); ask for a lower precision"
        )
    i = int(np.flatnonzero(ok)[-1])  # the most functions flagged: the highest recall
    positives = max(int(labels.sum()), 1)
    return Threshold(
        value=float(sorted_scores[i]),
        target_precision=target,
        precision=float(precision[i]),
        recall=float(true_pos[i] / positives),
        flagged=int(flagged[i]),
        n=int(len(scores)),
    )


def reliability(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Expected calibration error over ``bins`` equal-width bins of p(vulnerable), the Brier
    score, and per bin: count, mean predicted p and observed vulnerable fraction."""
    labels = np.asarray(labels).astype(float)
    scores = np.asarray(scores, dtype=float)
    index = np.minimum((scores * bins).astype(int), bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        if count:
            predicted = float(scores[members].mean())
            observed = float(labels[members].mean())
            ece += count / len(scores) * abs(predicted - observed)
        rows.append(
            {
                "low": b / bins,
                "high": (b + 1) / bins,
                "count": count,
                "mean_predicted": predicted if count else None,
                "observed": observed if count else None,
            }
        )
    return {
        "bins": rows,
        "ece": float(ece),
        "brier": float(np.mean((scores - labels) ** 2)),
        "n": int(len(scores)),
    }
