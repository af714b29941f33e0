"""Seed aggregation, paired bootstrap intervals and McNemar's test."""

from __future__ import annotations

import numpy as np
import pytest

from moekd.evaluation.comparison import StudentSeeds, aggregate, compare
from moekd.evaluation.stats import (
    asr_difference,
    mcnemar,
    mean_std,
    metric_difference,
    paired_bootstrap,
)


def test_mean_std_uses_the_sample_deviation() -> None:
    assert mean_std([0.5, 0.7]) == pytest.approx((0.6, np.std([0.5, 0.7], ddof=1)))
    assert mean_std([0.4]) == (0.4, 0.0)


def test_bootstrap_interval_brackets_a_clear_difference_and_zero_for_equal_models() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    good = np.where(rng.random(400) < 0.9, labels, 1 - labels)[None]
    bad = np.where(rng.random(400) < 0.6, labels, 1 - labels)[None]
    clear = paired_bootstrap(metric_difference(labels, good, bad, "accuracy"), 400, 500)
    assert clear.low > 0.2 and clear.excludes_zero
    assert clear.low <= clear.difference <= clear.high
    same = paired_bootstrap(metric_difference(labels, good, good, "f1"), 400, 200)
    assert same.difference == same.low == same.high == 0.0 and not same.excludes_zero


def test_asr_difference_counts_only_attacked_functions_per_seed() -> None:
    attacked_a = np.array([[True, True, False, False]])
    success_a = np.array([[True, False, True, True]])  # the unattacked successes must not count
    attacked_b = np.array([[True, True, True, True]])
    success_b = np.array([[True, True, True, True]])
    diff = asr_difference(attacked_a, success_a, attacked_b, success_b)
    assert diff(np.arange(4)) == pytest.approx(0.5 - 1.0)


def test_mcnemar_exact_test() -> None:
    labels = np.ones(30, int)
    a = np.ones(30, int)
    b = np.ones(30, int)
    b[:12] = 0  # A right and B wrong on 12; no example the other way round
    result = mcnemar(labels, a, b)
    assert (result.a_only, result.b_only) == (12, 0)
    assert result.p_value == pytest.approx(2 * 0.5**12)
    assert mcnemar(labels, a, a).p_value == 1.0


def _student(method: str, accs: list[float], preds: np.ndarray) -> StudentSeeds:
    test = [
        {
            "accuracy": a,
            "precision": a,
            "recall": a,
            "f1": a,
            "params": 10,
            "size_mb": 1.0,
            "gflops": 0.1,
            "latency_ms": 2.0,
        }
        for a in accs
    ]
    summary = {
        "asr": 0.5,
        "attacked": 2,
        "succeeded": 1,
        "robust_accuracy": 0.5,
        "mean_queries": 3.0,
        "mean_changed_identifiers": 1.0,
        "seconds": 1.0,
    }
    flags = np.array([[True, True]] * len(accs))
    return StudentSeeds(
        method,
        "3mb",
        list(range(len(accs))),
        test,
        preds,
        {"mhm": [summary] * len(accs)},
        {"mhm": flags},
        {"mhm": flags},
    )


def test_aggregate_and_compare_shapes() -> None:
    labels = np.array([0, 1, 1, 0, 1, 0])
    ours = _student("moekd", [0.8, 0.6], np.stack([labels, labels]))
    theirs = _student("vanilla_kd", [0.5, 0.5], np.stack([1 - labels, labels]))
    entry = aggregate(ours)
    assert entry["accuracy"] == pytest.approx(0.7)
    assert entry["std"]["accuracy"] == pytest.approx(np.std([0.8, 0.6], ddof=1))
    assert entry["attacks"]["mhm"]["attacked"] == 4 and entry["size_mb"] == 1.0
    assert entry["constant_seeds"] == 0
    constant = _student("avatar", [0.5], np.zeros((1, 6), int))
    assert aggregate(constant)["constant_seeds"] == 1
    result = compare(ours, theirs, labels, resamples=100)
    assert result["accuracy"]["difference"] == pytest.approx(1.0 - 0.5)
    assert result["asr"]["mhm"]["difference"] == 0.0
    assert [m["a_only"] for m in result["mcnemar"]] == [6, 0]


def test_proportion_interval_is_wilsons() -> None:
    from moekd.evaluation.stats import proportion_interval

    low, high = proportion_interval(7, 15)
    assert low == pytest.approx(0.2481, abs=1e-3) and high == pytest.approx(0.6988, abs=1e-3)
    assert proportion_interval(0, 0) == (0.0, 1.0)


def test_paired_asr_counts_only_functions_attacked_for_both() -> None:
    labels = np.array([0, 1, 1, 0])
    ours = _student("moekd", [0.9, 0.9], np.stack([labels, labels]))
    theirs = _student("vanilla_kd", [0.9, 0.9], np.stack([labels, labels]))
    # Seed pair 0: both attacked on functions 0-2; MoEKD flipped on 0, the other on 0, 1, 2.
    # Seed pair 1: the other was not attacked on function 3, where MoEKD was flipped: ignored.
    ours.attacked["mhm"] = np.array([[1, 1, 1, 0], [1, 1, 0, 1]], bool)
    ours.succeeded["mhm"] = np.array([[1, 0, 0, 0], [0, 0, 0, 1]], bool)
    theirs.attacked["mhm"] = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    theirs.succeeded["mhm"] = np.array([[1, 1, 1, 1], [1, 0, 0, 0]], bool)
    paired = compare(ours, theirs, labels, resamples=200)["asr_paired"]["mhm"]
    assert paired["functions"] == 5  # 3 + 2 cells
    assert paired["ours_asr"] == pytest.approx(1 / 5)
    assert paired["baseline_asr"] == pytest.approx(4 / 5)
    assert paired["difference"]["difference"] == pytest.approx(-3 / 5)
    assert paired["difference"]["low"] <= -3 / 5 <= paired["difference"]["high"]
    assert [(m["a_only"], m["b_only"]) for m in paired["mcnemar"]] == [(0, 2), (0, 1)]
    pooled = paired["mcnemar_pooled"]
    assert (pooled["a_only"], pooled["b_only"]) == (0, 3)
    assert pooled["p_value"] == pytest.approx(0.25)  # two-sided exact binomial, 0 of 3


def test_a_student_meets_the_teacher_with_every_seed() -> None:
    from moekd.evaluation.comparison import versus_teacher

    labels = np.array([0, 1, 1, 0])
    student = _student("moekd_robust", [0.9, 0.9], np.stack([labels, labels]))
    student.attacked["alert"] = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)
    student.succeeded["alert"] = np.array([[0, 0, 1, 0], [0, 0, 0, 1]], bool)
    # The teacher: attacked on 0, 1, 3, flipped on 0 and 1; never attacked with MHM.
    teacher = {"alert": (np.array([1, 1, 0, 1], bool), np.array([1, 1, 0, 0], bool))}
    result = versus_teacher(student, teacher, resamples=200)
    assert result["student"] == "moekd_robust-3mb" and set(result["asr_paired"]) == {"alert"}
    paired = result["asr_paired"]["alert"]
    # Seed 0 meets the teacher on functions 0, 1 (student flipped on neither); seed 1 on 0, 3
    # (student flipped on 3, the teacher on 0).
    assert paired["functions"] == 4
    assert paired["ours_asr"] == pytest.approx(1 / 4)
    assert paired["baseline_asr"] == pytest.approx(3 / 4)
    assert paired["difference"]["difference"] == pytest.approx(-1 / 2)
    assert [(m["a_only"], m["b_only"]) for m in paired["mcnemar"]] == [(0, 2), (1, 1)]
    assert (paired["mcnemar_pooled"]["a_only"], paired["mcnemar_pooled"]["b_only"]) == (1, 3)


def test_fidelity_flip_rates_and_teacher_agreement_by_hand() -> None:
    from moekd.evaluation.fidelity import ABSENT, FidelityLabels, fidelity_summary

    teacher = FidelityLabels(np.array([1, 0, 1, 0]), {"r": np.array([1, 1, ABSENT, 0])})
    seed_a = FidelityLabels(np.array([1, 0, 0, 0]), {"r": np.array([0, 0, ABSENT, 0])})
    seed_b = FidelityLabels(np.array([1, 1, 0, 0]), {"r": np.array([1, 1, ABSENT, ABSENT])})
    labels = {"teacher": teacher, "s/seed-1": seed_a, "s/seed-2": seed_b}
    groups = {"teacher": "teacher", "s/seed-1": "s", "s/seed-2": "s"}
    summary = fidelity_summary(labels, groups, teacher="teacher")
    assert summary["functions"] == 4 and summary["varied"] == {"r": 3}
    # teacher: r varied 3 functions, labels changed on 1 (idx 1: 0 -> 1)
    assert summary["models"]["teacher"] == {
        "seeds": 1,
        "flip_rate": {"r": pytest.approx(1 / 3)},
        "teacher_agreement": None,
    }
    student = summary["models"]["s"]
    # seed a flips 1 of 3 (idx 0), seed b 0 of 2; agreement on originals 3/4 and 2/4; on
    # the variants a agrees at idx 3 only (1/3), b at both of its two
    assert student["seeds"] == 2
    assert student["flip_rate"]["r"] == pytest.approx((1 / 3 + 0) / 2)
    assert student["teacher_agreement"]["originals"] == pytest.approx((0.75 + 0.5) / 2)
    assert student["teacher_agreement"]["r"] == pytest.approx((1 / 3 + 1) / 2)
