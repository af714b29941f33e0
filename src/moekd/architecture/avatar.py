"""AVATAR's surrogate-assisted multi-objective search of a student configuration (Shi et al.,
ICSE-SEIP 2024; reference implementation ``*/Vulnerability-Detection/Avatar/MOO.py``).

Over the shared space (:mod:`moekd.architecture.space`): the distilled samples' validation
accuracy fits one BayesianRidge surrogate; NSGA-II minimises [|size - target|, -predicted
accuracy, GFLOPs] with the size band as a constraint; one configuration is picked from the
Pareto set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2

from moekd.architecture.space import (
    POSITION_EMBEDDINGS,
    AvatarCandidate,
    SearchResult,
    SurrogateProblem,
    draw_samples,
    fit_surrogate,
    integer_operators,
    pareto_set,
)
from moekd.config import AvatarSearchConfig

__all__ = [
    "POSITION_EMBEDDINGS",
    "AvatarCandidate",
    "AvatarResult",
    "AvatarSearchConfig",
    "avatar_search",
]


@dataclass(frozen=True, kw_only=True)
class AvatarResult(SearchResult):
    samples: tuple[tuple[AvatarCandidate, float], ...]

    def to_dict(self) -> dict[str, Any]:
        samples = [{"candidate": c.to_dict(), "accuracy": a} for c, a in self.samples]
        return {**self.pick_dict(), "samples": samples, **self.cost_dict()}


def avatar_search(
    target_mb: float,
    cfg: AvatarSearchConfig,
    measure: Callable[[list[AvatarCandidate]], Sequence[float]],
    max_length_cap: int | None = None,
    vocab_caps: Mapping[str, int] | None = None,
) -> AvatarResult:
    """Run AVATAR towards ``target_mb``; ``measure`` distils the candidates of
    :func:`moekd.architecture.space.sample_candidates` (called once, with all of them, so it
    may distil them in parallel, or read them from where they were distilled) and returns
    their validation accuracies.

    ``vocab_caps``: see :func:`moekd.architecture.space.draw_samples`.

    Final pick: the reference stops at the Pareto set (``MOO.py`` writes the whole archive to
    ``pareto_set.csv`` and chooses outside the code), so here the configuration with the highest
    predicted accuracy among the Pareto set, all of which meet the size band; ties go to the
    smaller size gap, then fewer GFLOPs.
    """
    start = time.perf_counter()
    drawn = draw_samples(target_mb, cfg, max_length_cap, vocab_caps)
    space, candidates = drawn.space, drawn.candidates
    accuracies = [float(a) for a in measure(candidates)]
    if len(accuracies) != len(candidates):
        raise ValueError(f"measure returned {len(accuracies)} accuracies for {len(candidates)}")
    surrogate = fit_surrogate(drawn.rows, accuracies)

    problem = SurrogateProblem(
        space, target_mb, cfg.size_tolerance, [lambda rows: -surrogate.predict(rows)]
    )
    algorithm = NSGA2(
        pop_size=cfg.population,
        sampling=drawn.initial_population(cfg.population),
        **integer_operators(space),
    )
    found = pareto_set(problem, algorithm, cfg.generations, cfg.seed)
    F = found.F
    best = int(np.lexsort((F[:, 2], F[:, 0], F[:, 1]))[0])
    fp = space.footprint(found.rows[best])
    return AvatarResult(
        candidate=space.candidate(found.rows[best]),
        size_mb=fp.size_mb,
        gflops=fp.gflops,
        predicted_accuracy=float(-F[best, 1]),
        samples=tuple(zip(candidates, accuracies, strict=True)),
        pareto_size=len(found.rows),
        evaluations=found.evaluations,
        seconds=time.perf_counter() - start,
    )
