"""MORPH's metamorphic-based many-objective search of a student configuration (Panichella,
ICSE 2025: "Metamorphic-Based Many-Objective Distillation of LLMs for Code-related Tasks").

MORPH keeps AVATAR's configuration space and adds robustness to metamorphic code as an
objective: the share of functions whose predicted label flips between the original and a
semantics-preserving variant. Over the shared space (:mod:`moekd.architecture.space`): each
distilled sample is measured for validation accuracy and flip rate, each fits a BayesianRidge
surrogate, and NSGA-III (many objectives: Das-Dennis reference directions) minimises [|size -
target|, -predicted accuracy, predicted flip rate, GFLOPs] with the size band as a constraint.

The pick (the paper reports Pareto-optimal models and compares one at AVATAR's size): among the
feasible Pareto set, the configurations within ``accuracy_slack`` of the best predicted
accuracy, and of those the fewest predicted flips; ties go to the smaller size gap, then fewer
GFLOPs. So MORPH never buys robustness with more than the slack of accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga3 import NSGA3
from pymoo.util.ref_dirs import get_reference_directions

from moekd.architecture.space import (
    AvatarCandidate,
    SearchResult,
    SurrogateProblem,
    draw_samples,
    fit_surrogate,
    integer_operators,
    pareto_set,
)
from moekd.config.search import MORPH_OBJECTIVES, MorphSearchConfig


@dataclass(frozen=True)
class MorphSample:
    """One distilled sample: its validation accuracy and its prediction-flip rate (None: it
    predicted one class)."""

    candidate: AvatarCandidate
    accuracy: float
    flip_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.to_dict(),
            "accuracy": self.accuracy,
            "flip_rate": self.flip_rate,
        }


@dataclass(frozen=True, kw_only=True)
class MorphResult(SearchResult):
    predicted_flip_rate: float
    samples: tuple[MorphSample, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.pick_dict(),
            "predicted_flip_rate": self.predicted_flip_rate,
            "samples": [s.to_dict() for s in self.samples],
            **self.cost_dict(),
        }


def pick(F: np.ndarray, accuracy_slack: float) -> int:
    """The row of ``F`` ([gap, -accuracy, flips, GFLOPs]) MORPH keeps: within ``accuracy_slack``
    of the best accuracy, the fewest flips; then the smaller gap, then fewer GFLOPs."""
    accuracy = -F[:, 1]
    near_best = np.flatnonzero(accuracy >= accuracy.max() - accuracy_slack - 1e-12)
    sub = F[near_best]
    return int(near_best[np.lexsort((sub[:, 3], sub[:, 0], sub[:, 2]))[0]])


def morph_search(
    target_mb: float,
    cfg: MorphSearchConfig,
    measure: Callable[[list[AvatarCandidate]], Sequence[tuple[float, float | None]]],
    max_length_cap: int | None = None,
    vocab_caps: Mapping[str, int] | None = None,
) -> MorphResult:
    """Run MORPH towards ``target_mb``; ``measure`` distils the candidates of
    :func:`moekd.architecture.space.sample_candidates` (once, with all of them) and returns
    each one's (validation accuracy, flip rate). A flip rate of None marks a sample that
    predicted one class: it never flips, which says nothing of its robustness, so the flip
    surrogate learns from the other samples only (and predicts nothing, a flat 0, when fewer
    than two remain: MORPH then ranks like AVATAR). ``vocab_caps``: see
    :func:`moekd.architecture.space.draw_samples`."""
    start = time.perf_counter()
    drawn = draw_samples(target_mb, cfg, max_length_cap, vocab_caps)
    space, candidates = drawn.space, drawn.candidates
    measured = [(float(a), None if f is None else float(f)) for a, f in measure(candidates)]
    if len(measured) != len(candidates):
        raise ValueError(f"measure returned {len(measured)} results for {len(candidates)}")
    accuracy = fit_surrogate(drawn.rows, [a for a, _ in measured])
    informative = [i for i, (_, f) in enumerate(measured) if f is not None]
    if len(informative) >= 2:
        fitted = fit_surrogate(drawn.rows[informative], [measured[i][1] for i in informative])
        predict_flips = fitted.predict
    else:
        predict_flips = lambda r: np.zeros(len(r))  # noqa: E731

    problem = SurrogateProblem(
        space,
        target_mb,
        cfg.size_tolerance,
        [
            lambda r: -np.clip(accuracy.predict(r), 0.0, 1.0),
            lambda r: np.clip(predict_flips(r), 0.0, 1.0),
        ],
    )
    directions = get_reference_directions(
        "das-dennis", MORPH_OBJECTIVES, n_partitions=cfg.partitions
    )
    algorithm = NSGA3(
        ref_dirs=directions,
        pop_size=cfg.population,
        sampling=drawn.initial_population(cfg.population),
        **integer_operators(space),
    )
    found = pareto_set(problem, algorithm, cfg.generations, cfg.seed)
    best = pick(found.F, cfg.accuracy_slack)
    fp = space.footprint(found.rows[best])
    return MorphResult(
        candidate=space.candidate(found.rows[best]),
        size_mb=fp.size_mb,
        gflops=fp.gflops,
        predicted_accuracy=float(-found.F[best, 1]),
        predicted_flip_rate=float(found.F[best, 2]),
        samples=tuple(MorphSample(c, a, f) for c, (a, f) in zip(candidates, measured, strict=True)),
        pareto_size=len(found.rows),
        evaluations=found.evaluations,
        seconds=time.perf_counter() - start,
    )
