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


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def proportion_interval(
    successes: int, trials: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval of a rate (an accuracy, an ASR); (0, 1) with no trials."""
    if trials == 0:
        return 0.0, 1.0
    ci = stats.binomtest(successes, trials).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


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
    difference: Callable[[np.ndarray], np.ndarray],
    n: int,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap of ``difference(indices)`` over ``n`` paired examples.

    ``difference`` is vectorised: it maps index arrays of shape (..., n) to shape (...)."""
    full = float(difference(np.arange(n)))
    if n < 2:
        return Interval(full, full, full, confidence)
    result = stats.bootstrap(
        (np.arange(n),),
        lambda idx, axis=-1: difference(np.moveaxis(idx, axis, -1)),
        vectorized=True,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return Interval(full, float(low), float(high), confidence)


def _seed_mean_metric(
    labels: np.ndarray, preds: np.ndarray, idx: np.ndarray, metric: str
) -> np.ndarray:
    """Accuracy or F1 (vulnerable class) on ``idx`` (..., n), averaged over the seeds."""
    y = labels[idx]
    p = preds[:, idx]  # (seeds, ..., n)
    if metric == "accuracy":
        return (p == y).mean(-1).mean(0)
    tp = ((p == 1) & (y == 1)).sum(-1)
    wrong = (p != y).sum(-1)  # false positives + false negatives
    denominator = 2 * tp + wrong
    f1 = np.divide(2 * tp, denominator, out=np.zeros(denominator.shape), where=denominator > 0)
    return f1.mean(0)


def metric_difference(
    labels: np.ndarray, preds_a: np.ndarray, preds_b: np.ndarray, metric: str
) -> Callable[[np.ndarray], np.ndarray]:
    """``metric`` (accuracy or f1) of A minus B on the resampled examples, each averaged over
    its seeds (``preds_*``: [seeds, examples] predicted labels)."""
    if metric not in ("accuracy", "f1"):
        raise ValueError(f"unknown metric {metric!r}")

    def diff(idx: np.ndarray) -> np.ndarray:
        a = _seed_mean_metric(labels, preds_a, idx, metric)
        return a - _seed_mean_metric(labels, preds_b, idx, metric)

    return diff


def _seed_mean_asr(attacked: np.ndarray, success: np.ndarray, idx: np.ndarray) -> np.ndarray:
    hit = attacked[:, idx]
    won = (hit & success[:, idx]).sum(-1)
    tried = hit.sum(-1)
    rate = np.divide(won, tried, out=np.zeros(tried.shape), where=tried > 0)
    return rate.mean(0)


def asr_difference(
    attacked_a: np.ndarray, success_a: np.ndarray, attacked_b: np.ndarray, success_b: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """ASR of A minus B on the resampled functions (arrays: [seeds, functions] booleans; a
    function counts for a seed only if that seed's model was attacked on it)."""

    def diff(idx: np.ndarray) -> np.ndarray:
        a = _seed_mean_asr(attacked_a, success_a, idx)
        return a - _seed_mean_asr(attacked_b, success_b, idx)

    return diff


def paired_asr_difference(
    attacked_a: np.ndarray, success_a: np.ndarray, attacked_b: np.ndarray, success_b: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """ASR of A minus B over the (seed pair, function) cells attacked for *both* (arrays:
    [seed pairs, functions] booleans, seeds paired in order): the same functions in both rates,
    pooled over the seed pairs, so the difference is paired by construction."""

    def diff(idx: np.ndarray) -> np.ndarray:
        both = attacked_a[:, idx] & attacked_b[:, idx]
        cells = both.sum(axis=(0, -1))
        won_a = (both & success_a[:, idx]).sum(axis=(0, -1))
        won_b = (both & success_b[:, idx]).sum(axis=(0, -1))
        return np.divide(won_a - won_b, cells, out=np.zeros(cells.shape), where=cells > 0)

    return diff


@dataclass(frozen=True)
class McNemar:
    a_only: int  # examples A gets right and B gets wrong
    b_only: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mcnemar(labels: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> McNemar:
    """Exact McNemar test on correctness: under H0 the discordant examples split 50/50."""
    return mcnemar_paired(pred_a == labels, pred_b == labels)


def mcnemar_paired(hit_a: np.ndarray, hit_b: np.ndarray) -> McNemar:
    """Exact McNemar test on two paired boolean outcomes (correct, attack succeeded, ...)."""
    a_only = int((hit_a & ~hit_b).sum())
    b_only = int((~hit_a & hit_b).sum())
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else stats.binomtest(a_only, discordant, 0.5).pvalue
    return McNemar(a_only, b_only, float(p))
