"""Comparisons that survive noise: mean and spread over seeds, paired bootstrap intervals of a
difference, and McNemar's exact test on paired predictions.

Every test example (or attacked function) is one draw; a bootstrap resample draws examples
with replacement and recomputes each model's seed-averaged metric on the same draw, so the
interval reflects both the test set's size and the seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from moekd.evaluation.metrics import classification_metrics


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


@dataclass(frozen=True)
class Interval:
    difference: float  # on the full sample
    low: float
    high: float
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_bootstrap(
    difference: Callable[[np.ndarray], float],
    n: int,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap of ``difference(indices)`` over ``n`` paired examples."""
    full = float(difference(np.arange(n)))
    if n < 2:
        return Interval(full, full, full, confidence)
    result = stats.bootstrap(
        (np.arange(n),),
        difference,
        vectorized=False,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return Interval(full, float(low), float(high), confidence)


def metric_difference(
    labels: np.ndarray, preds_a: np.ndarray, preds_b: np.ndarray, metric: str
) -> Callable[[np.ndarray], float]:
    """``metric`` of A minus B on the resampled examples, each averaged over its seeds
    (``preds_*``: [seeds, examples] predicted labels)."""

    def score(preds: np.ndarray, idx: np.ndarray) -> float:
        return float(np.mean([classification_metrics(labels[idx], p[idx])[metric] for p in preds]))

    return lambda idx: score(preds_a, idx) - score(preds_b, idx)


def asr_difference(
    attacked_a: np.ndarray, success_a: np.ndarray, attacked_b: np.ndarray, success_b: np.ndarray
) -> Callable[[np.ndarray], float]:
    """ASR of A minus B on the resampled functions (arrays: [seeds, functions] booleans; a
    function counts for a seed only if that seed's model was attacked on it)."""

    def asr(attacked: np.ndarray, success: np.ndarray, idx: np.ndarray) -> float:
        rates = [
            s[idx][a[idx]].mean() if a[idx].any() else 0.0
            for a, s in zip(attacked, success, strict=True)
        ]
        return float(np.mean(rates))

    return lambda idx: asr(attacked_a, success_a, idx) - asr(attacked_b, success_b, idx)


@dataclass(frozen=True)
class McNemar:
    a_only: int  # examples A gets right and B gets wrong
    b_only: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mcnemar(labels: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> McNemar:
    """Exact McNemar test: under H0 the discordant examples split 50/50."""
    right_a, right_b = pred_a == labels, pred_b == labels
    a_only = int((right_a & ~right_b).sum())
    b_only = int((~right_a & right_b).sum())
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else stats.binomtest(a_only, discordant, 0.5).pvalue
    return McNemar(a_only, b_only, float(p))
