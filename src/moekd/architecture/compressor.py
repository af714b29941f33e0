"""Compressor's genetic search for a student architecture of a given size (Shi et al., ASE 2022;
reference implementation ``searcher.py`` in soarsmu/Compressor).

Five genes, each an index into the reference's grid: vocabulary 1000-50000 (step 1000), attention
heads {1, 2, 4, 8}, hidden 16-768 (step 16), intermediate 32-3040 (step 32), layers 1-12. Every
hidden size is a multiple of 16, so it is always divisible by the heads and no repair is needed.
Fitness, maximised: ``GFLOPs - penalty * |target_mb - size_mb|``; it rewards the most compute a
size budget can hold, on the premise that compute buys accuracy. The reference feeds its
population through an elitist (mu + lambda) GA; pymoo's ``GA`` does the same.

Size and GFLOPs come from ``moekd.models.footprint`` at the block size the student is fed, so
the searched student is costed exactly as the one later built and reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.problem import Problem
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.optimize import minimize

from moekd.config import CompressorSearchConfig
from moekd.errors import ConfigError
from moekd.models.footprint import Footprint, footprint
from moekd.models.presets import ArchSpec

VOCAB_SIZES = tuple(range(1000, 50_001, 1000))
ATTENTION_HEADS = (1, 2, 4, 8)
HIDDEN_SIZES = tuple(range(16, 769, 16))
INTERMEDIATE_SIZES = tuple(range(32, 3041, 32))
LAYERS = tuple(range(1, 13))
GRIDS: tuple[tuple[int, ...], ...] = (
    VOCAB_SIZES,
    ATTENTION_HEADS,
    HIDDEN_SIZES,
    INTERMEDIATE_SIZES,
    LAYERS,
)


@dataclass(frozen=True)
class CompressorResult:
    arch: ArchSpec
    size_mb: float
    gflops: float
    evaluations: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch.to_dict(),
            "size_mb": self.size_mb,
            "gflops": self.gflops,
            "evaluations": self.evaluations,
            "seconds": self.seconds,
        }


def decode(genes: tuple[int, ...], max_length: int, vocab_cap: int | None = None) -> ArchSpec:
    """The architecture that grid indices ``(vocab, heads, hidden, intermediate, layers)`` name;
    ``vocab_cap``: the most entries the tokenizer learns on the corpus (a bigger gene builds the
    same model)."""
    vocab, heads, hidden, intermediate, layers = (g[i] for g, i in zip(GRIDS, genes, strict=True))
    return ArchSpec(
        vocab_size=vocab if vocab_cap is None else min(vocab, vocab_cap),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_length=max_length,
    )


class _CompressorProblem(Problem):
    """Minimises the negated fitness, and remembers the fittest genome seen inside the size band
    (a GA revisits genomes often, so footprints are memoised)."""

    def __init__(
        self,
        target_mb: float,
        max_length: int,
        cfg: CompressorSearchConfig,
        vocab_cap: int | None = None,
    ) -> None:
        super().__init__(
            n_var=len(GRIDS),
            n_obj=1,
            xl=np.zeros(len(GRIDS)),
            xu=np.array([len(g) - 1 for g in GRIDS], dtype=float),
            vtype=int,
        )
        self.target_mb = target_mb
        self.max_length = max_length
        self.vocab_cap = vocab_cap
        self.cfg = cfg
        self._footprints: dict[tuple[int, ...], Footprint] = {}
        self.best_in_band: tuple[float, tuple[int, ...]] | None = None

    def footprint_of(self, genes: tuple[int, ...]) -> Footprint:
        if genes not in self._footprints:
            arch = decode(genes, self.max_length, self.vocab_cap)
            self._footprints[genes] = footprint(arch, seq_len=self.max_length)
        return self._footprints[genes]

    def fitness(self, fp: Footprint) -> float:
        return fp.gflops - self.cfg.penalty * abs(self.target_mb - fp.size_mb)

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        band = self.cfg.size_tolerance * self.target_mb
        values = np.empty((len(X), 1))
        for n, row in enumerate(np.rint(X).astype(int)):
            genes = tuple(int(v) for v in row)
            fp = self.footprint_of(genes)
            fit = self.fitness(fp)
            values[n, 0] = -fit
            in_band = abs(fp.size_mb - self.target_mb) <= band
            if in_band and (self.best_in_band is None or fit > self.best_in_band[0]):
                self.best_in_band = (fit, genes)
        out["F"] = values


def compressor_search(
    target_mb: float, max_length: int, cfg: CompressorSearchConfig, vocab_cap: int | None = None
) -> CompressorResult:
    """The student Compressor's GA picks for ``target_mb`` at block size ``max_length``.

    The answer is the fittest genome evaluated during the run whose size lies within
    ``cfg.size_tolerance`` of the target. With the reference's penalty this is the plain GA
    optimum at the papers' block sizes (the reference keeps the fittest of its final
    population); the band matters for long blocks, where attention FLOPs outgrow a unit penalty
    and the raw optimum runs past the target (3 MB at 1024 tokens: a 10.9 MB model). A run that
    never meets the band raises ``ConfigError`` rather than return a student of the wrong size.
    ``vocab_cap`` sizes candidates with the vocabulary their BPE really learns on the corpus.
    """
    if target_mb <= 0:
        raise ConfigError(f"target size must be positive, got {target_mb} MB")
    if max_length < 1:
        raise ConfigError(f"max length must be positive, got {max_length}")
    start = time.perf_counter()
    problem = _CompressorProblem(target_mb, max_length, cfg, vocab_cap)
    algorithm = GA(
        pop_size=cfg.population,
        sampling=IntegerRandomSampling(),
        # As in the reference, 60% of parent pairs are recombined.
        crossover=SBX(prob=0.6, eta=3.0, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=3.0, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    res = minimize(problem, algorithm, ("n_gen", cfg.generations), seed=cfg.seed, verbose=False)
    if problem.best_in_band is None:
        raise ConfigError(
            f"the genetic search found no student within {cfg.size_tolerance:.0%} of "
            f"{target_mb} MB at block size {max_length}; raise its penalty"
        )
    genes = problem.best_in_band[1]
    fp = problem.footprint_of(genes)
    return CompressorResult(
        arch=decode(genes, max_length, vocab_cap),
        size_mb=fp.size_mb,
        gflops=fp.gflops,
        evaluations=int(res.algorithm.evaluator.n_eval),
        seconds=time.perf_counter() - start,
    )
