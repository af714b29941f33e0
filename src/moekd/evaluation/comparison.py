"""Aggregate students over seeds, compare MoEKD with each baseline of the same size and each
student's robustness with the teacher's.

Inputs are plain arrays the results stage has gathered, so the statistics are testable without
a run directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from moekd.evaluation.stats import (
    asr_difference,
    mcnemar,
    mcnemar_paired,
    mean_std,
    metric_difference,
    paired_asr_difference,
    paired_bootstrap,
)

QUALITY = ("accuracy", "precision", "recall", "f1")
FOOTPRINT = ("params", "size_mb", "gflops", "latency_ms")
COMPARED = ("accuracy", "f1")


@dataclass
class StudentSeeds:
    """One (method, size) student over its seeds, in seed order."""

    method: str
    size: str
    seeds: list[int]
    test: list[dict[str, Any]]  # evaluate_folder's metrics per seed
    predictions: np.ndarray  # [seeds, examples] predicted labels on the test split
    attacks: dict[str, list[dict[str, Any]]]  # attack -> summary per seed (seeds attacked)
    attacked: dict[str, np.ndarray]  # attack -> [seeds, functions] bool
    succeeded: dict[str, np.ndarray]  # attack -> [seeds, functions] bool


def _attack_aggregate(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    asr, asr_std = mean_std([s["asr"] for s in summaries])
    out: dict[str, Any] = {
        "asr": asr,
        "asr_std": asr_std,
        "attacked": sum(s["attacked"] for s in summaries),
        "succeeded": sum(s["succeeded"] for s in summaries),
        "seeds": len(summaries),
    }
    for key in ("robust_accuracy", "mean_queries", "mean_changed_identifiers", "seconds"):
        out[key] = float(np.mean([s[key] for s in summaries]))
    return out


def aggregate(student: StudentSeeds) -> dict[str, Any]:
    """The contract's per-method entry: seed means, with ``std`` and ``per_seed`` beside."""
    entry: dict[str, Any] = {"method": student.method, "size": student.size}
    std: dict[str, float] = {}
    for key in QUALITY:
        entry[key], std[key] = mean_std([m[key] for m in student.test])
    for key in FOOTPRINT:
        values = [m[key] for m in student.test if m.get(key) is not None]
        if values:
            entry[key] = float(np.mean(values)) if key == "latency_ms" else values[0]
    entry["std"] = std
    entry["seeds"] = student.seeds
    # A student that gives every test function one label cannot be flipped: ASR 0 by
    # construction, which readers must not take for robustness.
    entry["constant_seeds"] = int(sum(len(np.unique(p)) == 1 for p in student.predictions))
    entry["per_seed"] = {str(s): m for s, m in zip(student.seeds, student.test, strict=True)}
    entry["attacks"] = {a: _attack_aggregate(s) for a, s in student.attacks.items() if s}
    return entry


def compare(
    ours: StudentSeeds,
    baseline: StudentSeeds,
    labels: np.ndarray,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """MoEKD minus a baseline: bootstrap intervals of the accuracy, F1 and ASR differences and
    McNemar's test per seed (seeds paired in order)."""
    n = len(labels)
    out: dict[str, Any] = {
        "ours": f"{ours.method}-{ours.size}",
        "baseline": f"{baseline.method}-{baseline.size}",
    }
    for metric in COMPARED:
        diff = metric_difference(labels, ours.predictions, baseline.predictions, metric)
        out[metric] = paired_bootstrap(diff, n, resamples, seed=seed).to_dict()
    out["asr"] = {}
    for attack in sorted(set(ours.attacked) & set(baseline.attacked)):
        a_att, b_att = ours.attacked[attack], baseline.attacked[attack]
        diff = asr_difference(a_att, ours.succeeded[attack], b_att, baseline.succeeded[attack])
        out["asr"][attack] = paired_bootstrap(diff, a_att.shape[1], resamples, seed=seed).to_dict()
    out["asr_paired"] = {
        attack: paired_asr(ours, baseline, attack, resamples, seed) for attack in out["asr"]
    }
    pairs = zip(ours.predictions, baseline.predictions, strict=False)
    out["mcnemar"] = [mcnemar(labels, a, b).to_dict() for a, b in pairs]
    return out


def paired_asr(
    ours: StudentSeeds, baseline: StudentSeeds, attack: str, resamples: int, seed: int
) -> dict[str, Any]:
    """ASR of MoEKD minus the other over the functions attacked for both (seeds paired in
    order, pooled), its bootstrap interval over functions, and McNemar's test on the success
    indicators of those functions, per seed pair and pooled."""
    k = min(len(ours.seeds), len(baseline.seeds))
    return paired_outcomes(
        (ours.attacked[attack][:k], ours.succeeded[attack][:k]),
        (baseline.attacked[attack][:k], baseline.succeeded[attack][:k]),
        resamples,
        seed,
    )


Outcomes = tuple[np.ndarray, np.ndarray]  # (attacked, succeeded): [seed pairs, functions] bools


def paired_outcomes(a: Outcomes, b: Outcomes, resamples: int, seed: int) -> dict[str, Any]:
    """A's ASR minus B's over the (seed pair, function) cells attacked for both, with a
    bootstrap interval over functions and McNemar's test per seed pair and pooled."""
    (att_a, won_a), (att_b, won_b) = a, b
    both = att_a & att_b
    diff = paired_asr_difference(att_a, won_a, att_b, won_b)
    return {
        "functions": int(both.sum()),
        "ours_asr": float(won_a[both].mean()) if both.any() else 0.0,
        "baseline_asr": float(won_b[both].mean()) if both.any() else 0.0,
        "difference": paired_bootstrap(diff, att_a.shape[1], resamples, seed=seed).to_dict(),
        "mcnemar": [
            mcnemar_paired(x[m], y[m]).to_dict() for x, y, m in zip(won_a, won_b, both, strict=True)
        ],
        "mcnemar_pooled": mcnemar_paired(won_a[both], won_b[both]).to_dict(),
    }


def versus_teacher(
    student: StudentSeeds,
    teacher: dict[str, Outcomes],
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """A student's ASR minus the teacher's on the functions attacked for both, per attack the
    two share (``teacher``: attack -> its [functions] outcomes; every seed of the student meets
    the one teacher): is the small model easier to attack than the model it learned from?"""
    seeds = len(student.seeds)
    out: dict[str, Any] = {}
    for attack in sorted(set(student.attacked) & set(teacher)):
        attacked, succeeded = (np.tile(x, (seeds, 1)) for x in teacher[attack])
        ours = (student.attacked[attack], student.succeeded[attack])
        out[attack] = paired_outcomes(ours, (attacked, succeeded), resamples, seed)
    return {"student": f"{student.method}-{student.size}", "asr_paired": out}
