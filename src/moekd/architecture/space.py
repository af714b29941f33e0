"""AVATAR's configuration space (Shi et al., ICSE-SEIP 2024; reference implementation
``*/Vulnerability-Detection/Avatar/MOO.py`` with ``distill_utils.py``, ``surrogate.py`` and
``reduction.py`` in soarsmu/Avatar), shared by the two searches over it: AVATAR's own and
MORPH's, which adds metamorphic robustness as an objective.

Thirteen genes, integer-coded in the reference's order and with its ranges: tokenizer (BPE,
WordPiece, Unigram, WordLevel), vocabulary 1000-46000, layers 1-12, hidden 16-256, activation
(gelu, relu, silu, gelu_new), hidden dropout 0.2-0.5 (step 0.1), intermediate 32-3072, heads
1-12, attention dropout 0.2-0.5, max length 256-512, position embedding, learning rate (1e-3,
1e-4, 5e-5) and batch size (16, 32, 64); the choices of the dropouts, the learning rate and the
batch size are configurable. A hidden size is snapped to
the nearest multiple of its heads (the reference redraws it until it divides), so every
candidate builds.

Position embeddings: the reference offers absolute, relative_key and relative_key_query, but the
installed transformers (5.x) RoBERTa accepts the last two and silently ignores them (same
parameters, same outputs as absolute), so only ``absolute`` is offered; the gene stays, fixed,
so configurations keep the reference's 13-gene shape.

Both searches: (a) draw ``samples`` configurations inside the size band, spread out by greedy
max-min distance (the reference's adaptive random sampling), which the caller distils; (b) fit
``BayesianRidge`` surrogates from the coded genes to what was measured; (c) a multi-objective
search (:func:`pareto_set`) over [size gap, the surrogates' objectives, GFLOPs] with the size
band as a constraint, seeded with the samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.optimize import minimize
from sklearn.linear_model import BayesianRidge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from moekd.config import AvatarSearchConfig
from moekd.data.tokenizer_kinds import TOKENIZER_KINDS
from moekd.errors import ConfigError
from moekd.models.footprint import Footprint, footprint
from moekd.models.presets import ArchSpec

ACTIVATIONS = ("gelu", "relu", "silu", "gelu_new")
DROPOUTS = (0.2, 0.3, 0.4, 0.5)
POSITION_EMBEDDINGS = ("absolute",)
LEARNING_RATES = (1e-3, 1e-4, 5e-5)
BATCH_SIZES = (16, 32, 64)
MAX_LENGTH_RANGE = (256, 512)


@dataclass(frozen=True)
class _Gene:
    """An integer gene: the value itself, or an index into ``choices``."""

    name: str
    low: int
    high: int
    choices: tuple[Any, ...] | None = None

    def value(self, code: int) -> Any:
        return self.choices[code] if self.choices is not None else code


def _categorical(name: str, choices: tuple[Any, ...]) -> _Gene:
    return _Gene(name, 0, len(choices) - 1, choices)


def _genes(
    max_length_cap: int | None,
    learning_rates: tuple[float, ...] = LEARNING_RATES,
    batch_sizes: tuple[int, ...] = BATCH_SIZES,
    dropouts: tuple[float, ...] = DROPOUTS,
) -> tuple[_Gene, ...]:
    """The 13 genes in the reference's order; a cap lowers the max-length range (to a single
    value when the cap is under 256)."""
    high = MAX_LENGTH_RANGE[1] if max_length_cap is None else min(max_length_cap, 512)
    if high < 1:
        raise ConfigError(f"max length cap must be positive, got {max_length_cap}")
    low = min(MAX_LENGTH_RANGE[0], high)
    return (
        _categorical("tokenizer", TOKENIZER_KINDS),
        _Gene("vocab_size", 1000, 46000),
        _Gene("num_hidden_layers", 1, 12),
        _Gene("hidden_size", 16, 256),
        _categorical("hidden_act", ACTIVATIONS),
        _categorical("hidden_dropout_prob", dropouts),
        _Gene("intermediate_size", 32, 3072),
        _Gene("num_attention_heads", 1, 12),
        _categorical("attention_probs_dropout_prob", dropouts),
        _Gene("max_length", low, high),
        _categorical("position_embedding_type", POSITION_EMBEDDINGS),
        _categorical("lr", learning_rates),
        _categorical("batch_size", batch_sizes),
    )


_NAMES = tuple(g.name for g in _genes(None))
_VOCAB, _HIDDEN, _HEADS = (
    _NAMES.index(n) for n in ("vocab_size", "hidden_size", "num_attention_heads")
)
_NOT_ARCH = ("tokenizer", "lr", "batch_size")


@dataclass(frozen=True)
class AvatarCandidate:
    """One point of AVATAR's space: the student's architecture plus how it is trained."""

    arch: ArchSpec
    tokenizer: str
    lr: float
    batch_size: int

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZER_KINDS:
            raise ConfigError(
                f"unknown tokenizer kind {self.tokenizer!r}; "
                f"choose one of {', '.join(TOKENIZER_KINDS)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch.to_dict(),
            "tokenizer": self.tokenizer,
            "lr": self.lr,
            "batch_size": self.batch_size,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AvatarCandidate:
        return cls(
            arch=ArchSpec(**data["arch"]),
            tokenizer=str(data["tokenizer"]),
            lr=float(data["lr"]),
            batch_size=int(data["batch_size"]),
        )


class SearchSpace:
    """Decoding, repair and (memoised) footprints of coded gene rows."""

    def __init__(
        self,
        cfg: AvatarSearchConfig,
        max_length_cap: int | None,
        vocab_caps: Mapping[str, int] | None = None,
    ) -> None:
        self.genes = _genes(max_length_cap, cfg.learning_rates, cfg.batch_sizes, cfg.dropouts)
        self.vocab_caps = dict(vocab_caps or {})
        self.low = np.array([g.low for g in self.genes])
        self.high = np.array([g.high for g in self.genes])
        self._footprints: dict[tuple[int, ...], Footprint] = {}

    def vocab_cap(self, row: Sequence[int]) -> int | None:
        """The most entries the row's tokenizer kind reaches on the caller's corpus."""
        return self.vocab_caps.get(self.genes[0].value(int(row[0])))

    def candidate(self, row: Sequence[int]) -> AvatarCandidate:
        values = {g.name: g.value(int(c)) for g, c in zip(self.genes, row, strict=True)}
        cap = self.vocab_caps.get(values["tokenizer"])
        if cap is not None:  # a bigger vocabulary gene would build the same, smaller model
            values["vocab_size"] = min(values["vocab_size"], cap)
        arch = ArchSpec(**{k: v for k, v in values.items() if k not in _NOT_ARCH})
        return AvatarCandidate(arch, values["tokenizer"], values["lr"], values["batch_size"])

    def repair(self, X: np.ndarray) -> np.ndarray:
        """Rounds into bounds and snaps each hidden size to the nearest multiple of its heads
        that stays in range (16 <= hidden, heads <= 12, so one always exists)."""
        X = np.clip(np.rint(X), self.low, self.high).astype(int)
        heads = X[:, _HEADS]
        lowest = -(-self.low[_HIDDEN] // heads) * heads
        highest = (self.high[_HIDDEN] // heads) * heads
        X[:, _HIDDEN] = np.clip(np.rint(X[:, _HIDDEN] / heads).astype(int) * heads, lowest, highest)
        return X

    def footprint(self, row: Sequence[int]) -> Footprint:
        key = tuple(int(c) for c in row)
        if key not in self._footprints:
            arch = self.candidate(key).arch
            self._footprints[key] = footprint(arch, seq_len=arch.max_length)
        return self._footprints[key]


class HeadsRepair(Repair):
    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem: Problem, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.space.repair(X)


class SurrogateProblem(Problem):
    """Minimise [|size - target|, *the surrogates' objectives, GFLOPs] over coded rows, with the
    size band as a constraint. Each objective maps repaired rows to values to minimise (e.g. the
    negated predicted accuracy)."""

    def __init__(
        self,
        space: SearchSpace,
        target_mb: float,
        tolerance: float,
        objectives: Sequence[Callable[[np.ndarray], np.ndarray]],
    ) -> None:
        super().__init__(
            n_var=len(space.genes),
            n_obj=len(objectives) + 2,
            n_ieq_constr=1,
            xl=space.low.astype(float),
            xu=space.high.astype(float),
            vtype=int,
        )
        self.space = space
        self.target_mb = target_mb
        self.band = tolerance * target_mb
        self.objectives = objectives

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        rows = self.space.repair(X)
        fps = [self.space.footprint(r) for r in rows]
        gap = np.abs(np.array([f.size_mb for f in fps]) - self.target_mb)
        predicted = [objective(rows.astype(float)) for objective in self.objectives]
        out["F"] = np.column_stack([gap, *predicted, [f.gflops for f in fps]])
        out["G"] = (gap - self.band)[:, None]


def sample_in_band(
    space: SearchSpace, target_mb: float, band: float, count: int, rng: np.random.Generator
) -> np.ndarray:
    """``count`` random coded rows whose size is within ``band`` MB of the target.

    Other genes are drawn uniformly; the vocabulary is then drawn among the values that land in
    the band. Parameters grow linearly with the vocabulary (one embedding row each), so two
    footprints give that interval, instead of rejecting nearly every uniform draw."""
    rows: list[np.ndarray] = []
    for _ in range(200 * count):
        if len(rows) == count:
            break
        row = space.repair(rng.integers(space.low, space.high + 1)[None, :])[0]
        v_low = int(space.low[_VOCAB])
        v_high = min(int(space.high[_VOCAB]), space.vocab_cap(row) or int(space.high[_VOCAB]))
        if v_high <= v_low:  # the corpus caps this tokenizer below the gene's range
            row[_VOCAB] = v_low
            if abs(space.footprint(row).size_mb - target_mb) <= band:
                rows.append(row)
            continue
        row[_VOCAB] = v_low
        size_low = space.footprint(row).size_mb
        row[_VOCAB] = v_high
        per_entry = (space.footprint(row).size_mb - size_low) / (v_high - v_low)
        first = max(v_low, math.ceil(v_low + (target_mb - band - size_low) / per_entry))
        last = min(v_high, math.floor(v_low + (target_mb + band - size_low) / per_entry))
        if first > last:
            continue
        row[_VOCAB] = rng.integers(first, last + 1)
        if abs(space.footprint(row).size_mb - target_mb) <= band:
            rows.append(row)
    if len(rows) < count:
        raise ConfigError(
            f"AVATAR's search space holds too few configurations of {target_mb} MB "
            f"(+-{band:.3f} MB); widen the size tolerance"
        )
    return np.array(rows)


def spread(pool: np.ndarray, count: int, scale: np.ndarray) -> list[int]:
    """Greedy max-min selection: each pick is the pool row farthest from those already picked."""
    points = pool / scale
    chosen = [0]
    nearest = np.linalg.norm(points - points[0], axis=1)
    while len(chosen) < count:
        pick = int(np.argmax(nearest))
        chosen.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(points - points[pick], axis=1))
    return chosen


def sampled_rows(
    target_mb: float,
    cfg: AvatarSearchConfig,
    space: SearchSpace,
) -> tuple[np.ndarray, list[int]]:
    """The pool of in-band configurations and the ``cfg.samples`` spread out among them."""
    if target_mb <= 0:
        raise ConfigError(f"target size must be positive, got {target_mb} MB")
    rng = np.random.default_rng(cfg.seed)
    band = cfg.size_tolerance * target_mb
    pool = sample_in_band(space, target_mb, band, max(10 * cfg.samples, cfg.population), rng)
    return pool, spread(pool, cfg.samples, np.maximum(space.high - space.low, 1))


@dataclass(frozen=True)
class Samples:
    """The in-band pool a search draws from and the spread-out samples it distils."""

    space: SearchSpace
    pool: np.ndarray
    chosen: list[int]

    @property
    def rows(self) -> np.ndarray:
        return self.pool[self.chosen]

    @property
    def candidates(self) -> list[AvatarCandidate]:
        return [self.space.candidate(row) for row in self.rows]

    def initial_population(self, population: int) -> np.ndarray:
        """The samples first, then other in-band rows of the pool up to ``population``: a
        configuration inside the band always survives to the end."""
        rest = np.delete(self.pool, self.chosen, axis=0)[: max(population - len(self.chosen), 0)]
        return np.vstack([self.rows, rest])


def draw_samples(
    target_mb: float,
    cfg: AvatarSearchConfig,
    max_length_cap: int | None = None,
    vocab_caps: Mapping[str, int] | None = None,
) -> Samples:
    """The ``cfg.samples`` configurations a search distils (deterministic per ``cfg.seed``).

    ``vocab_caps`` (tokenizer kind -> the most entries it learns on the distillation corpus)
    keeps sizes honest: on a small corpus a 40,000-entry WordLevel gene builds a model with the
    corpus's few thousand words, far under the target, so candidates are sized with the
    vocabulary they will really get."""
    space = SearchSpace(cfg, max_length_cap, vocab_caps)
    pool, chosen = sampled_rows(target_mb, cfg, space)
    return Samples(space, pool, chosen)


def sample_candidates(
    target_mb: float,
    cfg: AvatarSearchConfig,
    max_length_cap: int | None = None,
    vocab_caps: Mapping[str, int] | None = None,
) -> list[AvatarCandidate]:
    """The configurations :func:`draw_samples` picks, for the caller to distil."""
    return draw_samples(target_mb, cfg, max_length_cap, vocab_caps).candidates


def integer_operators(space: SearchSpace) -> dict[str, Any]:
    """The genetic operators both searches use on integer genes (the reference's SBX and
    polynomial mutation, rounded), with the heads repair; keyword arguments of a pymoo GA."""
    return {
        "crossover": SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        "mutation": PM(eta=20, vtype=float, repair=RoundingRepair()),
        "repair": HeadsRepair(space),
        "eliminate_duplicates": True,
    }


def fit_surrogate(rows: np.ndarray, measured: Sequence[float]) -> Pipeline:
    """A BayesianRidge over standardised genes (the reference's surrogate)."""
    values = np.asarray(measured, dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"a measured value is not finite: {values.tolist()}")
    return make_pipeline(StandardScaler(), BayesianRidge()).fit(rows.astype(float), values)


@dataclass(frozen=True)
class SearchResult:
    """What both searches report of their pick (each adds its samples and own predictions)."""

    candidate: AvatarCandidate
    size_mb: float
    gflops: float
    predicted_accuracy: float
    pareto_size: int
    evaluations: int
    seconds: float

    def pick_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.to_dict(),
            "size_mb": self.size_mb,
            "gflops": self.gflops,
            "predicted_accuracy": self.predicted_accuracy,
        }

    def cost_dict(self) -> dict[str, Any]:
        return {
            "pareto_size": self.pareto_size,
            "evaluations": self.evaluations,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class ParetoSet:
    """The feasible non-dominated rows of a search, their objectives and the evaluations spent."""

    rows: np.ndarray
    F: np.ndarray
    evaluations: int


def pareto_set(
    problem: SurrogateProblem,
    algorithm: Algorithm,
    generations: int,
    seed: int,
) -> ParetoSet:
    """Run ``algorithm`` on ``problem``; keep the Pareto members that meet the size band."""
    res = minimize(problem, algorithm, ("n_gen", generations), seed=seed, verbose=False)
    opt = res.opt[res.opt.get("CV").ravel() <= 0]
    return ParetoSet(
        rows=problem.space.repair(np.atleast_2d(opt.get("X"))),
        F=np.atleast_2d(opt.get("F")),
        evaluations=int(res.algorithm.evaluator.n_eval),
    )
