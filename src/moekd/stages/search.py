"""The search stage: the baselines' architecture searches, once per student size, saved under
``RUN/search/`` so every seed (and a rerun) distils the same architecture.

Steps: the vocabulary each tokenizer kind really learns (caps that keep sizes honest);
Compressor's GA; MORPH's flip set (variants of validation functions); AVATAR's and MORPH's
samples (chosen, their tokenizers trained, each distilled briefly as its own unit; MORPH's also
counted for prediction flips) and then each one's surrogate-assisted search over them
(AVATAR: NSGA-II; MORPH: NSGA-III). Where MORPH's samples are AVATAR's (same candidates, same
brief distillation), MORPH only counts the flips of AVATAR's distilled samples.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moekd.architecture.avatar import AvatarResult, avatar_search
from moekd.architecture.compressor import VOCAB_SIZES, compressor_search
from moekd.architecture.morph import MorphResult, morph_search
from moekd.architecture.space import AvatarCandidate, sample_candidates
from moekd.config import AvatarConfig, StudentSize
from moekd.data.samples import CodeSample
from moekd.data.splits import stratified_subset
from moekd.data.tokenizer_kinds import TOKENIZER_KINDS, train_tokenizer
from moekd.evaluation.fidelity import (
    checked_relations,
    flip_rates,
    labels_of,
    pooled_flip_rate,
    predict_labels,
    variant_rows,
)
from moekd.models.classifier import HFClassifier
from moekd.stages.context import RunContext
from moekd.stages.knowledge import ROUTER
from moekd.stages.tokenizers import student_tokenizer, student_tokenizer_units
from moekd.stages.unit import Unit, Writer, write_json_artifact
from moekd.training.distill import distill

LARGEST_VOCAB = max(VOCAB_SIZES)  # Compressor's grid reaches 50,000; AVATAR's 46,000
VOCAB_CAP = ("data",)
COMPRESSOR = (
    "data",
    "students.max_length",
    "baselines.compressor.search",
    "baselines.compressor.block",
)
# What a distilled student depends on: its knowledge, its block and its training.
DISTILLED = (
    *ROUTER,
    "students.max_length",
    "students.temperature",
    "students.alpha",
    "students.train",
)


def _sizes(ctx: RunContext, method: str) -> list[StudentSize]:
    return [size for name, size in ctx.cfg.student_units() if name == method]


def _size_salt(size: StudentSize) -> str:
    return size.model_dump_json()


def _per_size(
    ctx: RunContext,
    method: str,
    artifact: Callable[[str], Path],
    depends: tuple[str, ...],
    build: Callable[[RunContext, StudentSize], Writer],
) -> list[Unit]:
    """One unit per size the method is run at."""
    sizes = _sizes(ctx, method)
    return [Unit(artifact(s.label), depends, build, (s,), _size_salt(s)) for s in sizes]


def _read(path: Path) -> Any:
    return json.loads(path.read_text())


# ---- vocabulary caps ---------------------------------------------------------------------
def _vocab_cap(ctx: RunContext, kind: str) -> Writer:
    """The most entries ``kind`` learns on the distillation split (trained with the largest
    vocabulary any search may ask for)."""
    codes = [s.code for s in ctx.splits.unlabeled]
    return write_json_artifact(
        {"kind": kind, "entries": len(train_tokenizer(kind, codes, LARGEST_VOCAB, 8))}
    )


def vocab_caps(ctx: RunContext, kinds: tuple[str, ...]) -> dict[str, int]:
    return {kind: int(_read(ctx.layout.vocab_cap(kind))["entries"]) for kind in kinds}


def _needed_kinds(ctx: RunContext) -> tuple[str, ...]:
    if any(_sizes(ctx, method) for method in SURROGATE_SEARCHES):
        return TOKENIZER_KINDS
    return ("BPE",) if _sizes(ctx, "compressor") else ()


def vocab_cap_units(ctx: RunContext) -> list[Unit]:
    return [
        Unit(
            ctx.layout.vocab_cap(kind),
            VOCAB_CAP,
            _vocab_cap,
            (kind,),
            kind,
        )
        for kind in _needed_kinds(ctx)
    ]


# ---- Compressor --------------------------------------------------------------------------
def _compressor(ctx: RunContext, size: StudentSize) -> Writer:
    block = ctx.cfg.students.max_length or ctx.cfg.baselines.compressor.block
    cap = vocab_caps(ctx, ("BPE",))["BPE"]
    result = compressor_search(size.target_mb, block, ctx.cfg.baselines.compressor.search, cap)
    return write_json_artifact({"target_mb": size.target_mb, **result.to_dict()})


def compressor_units(ctx: RunContext) -> list[Unit]:
    return _per_size(ctx, "compressor", ctx.layout.compressor_search, COMPRESSOR, _compressor)


# ---- AVATAR and MORPH: surrogate-assisted searches over AVATAR's space ------------------
SURROGATE_SEARCHES = ("avatar", "morph")
FLIP_SET = ("data", "baselines.morph.flips")


def _space(method: str) -> tuple[str, ...]:
    return ("data", "students.max_length", f"baselines.{method}.search")


def _sample_depends(method: str) -> tuple[str, ...]:
    """A sample is a distillation: it depends on the knowledge and the method's settings."""
    return (*DISTILLED, f"baselines.{method}")


def _settings(ctx: RunContext, method: str) -> AvatarConfig:
    return ctx.cfg.baselines.avatar if method == "avatar" else ctx.cfg.baselines.morph


def _candidates(ctx: RunContext, method: str, size: StudentSize) -> Writer:
    found = sample_candidates(
        size.target_mb,
        _settings(ctx, method).search,
        max_length_cap=ctx.cfg.students.max_length,
        vocab_caps=vocab_caps(ctx, TOKENIZER_KINDS),
    )
    return write_json_artifact([c.to_dict() for c in found])


def read_candidates(ctx: RunContext, method: str, size: StudentSize) -> list[AvatarCandidate]:
    path = ctx.layout.surrogate_candidates(method, size.label)
    return [AvatarCandidate.from_dict(c) for c in _read(path)]


def _per_search(
    ctx: RunContext,
    artifact: Callable[[str, str], Path],
    depends: Callable[[str], tuple[str, ...]],
    build: Callable[[RunContext, str, StudentSize], Writer],
) -> list[Unit]:
    """One unit per (surrogate search, size it runs at); independent of each other."""
    return [
        Unit(artifact(m, s.label), depends(m), build, (m, s), _size_salt(s), fan_out=True)
        for m in SURROGATE_SEARCHES
        for s in _sizes(ctx, m)
    ]


def candidate_units(ctx: RunContext) -> list[Unit]:
    return _per_search(ctx, ctx.layout.surrogate_candidates, _space, _candidates)


def sample_tokenizer_units(ctx: RunContext) -> list[Unit]:
    needs = [
        (c.tokenizer, c.arch)
        for method in SURROGATE_SEARCHES
        for size in _sizes(ctx, method)
        for c in read_candidates(ctx, method, size)
    ]
    return student_tokenizer_units(ctx, needs)


# ---- MORPH's flip set --------------------------------------------------------------------
def _flip_subset(ctx: RunContext) -> list[CodeSample]:
    flips = ctx.cfg.baselines.morph.flips
    return stratified_subset(ctx.splits.valid, flips.limit, flips.seed)


def _flip_set(ctx: RunContext) -> Writer:
    """Semantics-preserving variants of a validation subset: never the test split, which
    judges the methods."""
    flips = ctx.cfg.baselines.morph.flips
    chosen = checked_relations(flips.relations, "baselines.morph.flips.relations")
    return write_json_artifact(variant_rows(_flip_subset(ctx), chosen, flips.seed))


def flip_set_units(ctx: RunContext) -> list[Unit]:
    if not _sizes(ctx, "morph"):
        return []
    return [Unit(ctx.layout.flip_set, FLIP_SET, _flip_set)]


def _flips(ctx: RunContext, model_folder: Path) -> dict[str, Any]:
    """A distilled sample's prediction flips on the flip set: pooled and per relation, and
    whether it predicted one class for every original (then its zero flips mean nothing)."""
    rows = json.loads(ctx.layout.flip_set.read_text())
    labels = labels_of(predict_labels(HFClassifier.load(model_folder), _flip_subset(ctx), rows))
    return {
        "flip_rate": pooled_flip_rate(labels),
        "flips": flip_rates(labels),
        "constant": bool(np.unique(labels.originals).size <= 1),
    }


# ---- the samples -------------------------------------------------------------------------
def _sample(ctx: RunContext, method: str, size: StudentSize, index: int) -> Writer:
    """Really distil one sample briefly (teacher knowledge, a fixed subset of the distillation
    split, ``sample_epochs``): its validation accuracy, and for MORPH its flips."""
    settings = _settings(ctx, method)
    candidate = read_candidates(ctx, method, size)[index]
    pool = ctx.splits.unlabeled
    rng = np.random.default_rng(settings.search.seed)
    limit = settings.sample_limit
    picked = np.sort(rng.permutation(len(pool))[:limit]) if limit else np.arange(len(pool))
    knowledge = np.load(ctx.layout.knowledge_source("teacher"))
    work = ctx.layout.work_of(ctx.layout.surrogate_sample(method, size.label, index))
    result = distill(
        candidate.arch,
        student_tokenizer(ctx, candidate.tokenizer, candidate.arch),
        [pool[i] for i in picked],
        knowledge[picked],
        ctx.splits.valid,
        ctx.cfg.students.train.model_copy(
            update={
                "epochs": settings.sample_epochs,
                "lr": candidate.lr,
                "batch_size": candidate.batch_size,
                "seed": settings.search.seed,
            }
        ),
        work,
        settings.temperature,
        description=f"{method} sample {index + 1}/{settings.search.samples}",
    )
    record = {"candidate": candidate.to_dict(), "accuracy": float(result.best_metrics["accuracy"])}
    if method == "morph":
        record |= _flips(ctx, work / "best")
    return write_json_artifact(record)


def _reuses_avatar_samples(ctx: RunContext, size: StudentSize) -> bool:
    """MORPH's samples are AVATAR's (same space, seed and genes) whenever both search at
    ``size`` with the same candidates and the same brief distillation: then MORPH counts the
    flips of AVATAR's distilled samples instead of distilling them a second time."""
    if size not in _sizes(ctx, "avatar") or size not in _sizes(ctx, "morph"):
        return False
    avatar, morph = ctx.cfg.baselines.avatar, ctx.cfg.baselines.morph

    def training(c: AvatarConfig) -> tuple[Any, ...]:
        return c.sample_epochs, c.sample_limit, c.temperature, c.search.seed

    same = read_candidates(ctx, "avatar", size) == read_candidates(ctx, "morph", size)
    return same and training(avatar) == training(morph)


def _sample_unit(
    ctx: RunContext, method: str, size: StudentSize, index: int, build: Callable[..., Writer]
) -> Unit:
    """A distillation trains on every process of a launch; counting flips is the main one's."""
    return Unit(
        ctx.layout.surrogate_sample(method, size.label, index),
        _sample_depends(method),
        build,
        (method, size, index),
        f"{_size_salt(size)}:{index}",
        collective=build is _sample,
        fan_out=True,
    )


def _searched(ctx: RunContext) -> list[tuple[str, StudentSize, int]]:
    return [
        (method, size, index)
        for method in SURROGATE_SEARCHES
        for size in _sizes(ctx, method)
        for index in range(len(read_candidates(ctx, method, size)))
    ]


def sample_units(ctx: RunContext) -> list[Unit]:
    """The samples each search distils itself (all but MORPH's reused ones)."""
    return [
        _sample_unit(ctx, method, size, index, _sample)
        for method, size, index in _searched(ctx)
        if method != "morph" or not _reuses_avatar_samples(ctx, size)
    ]


def _reused_sample(ctx: RunContext, method: str, size: StudentSize, index: int) -> Writer:
    """MORPH's record of AVATAR's distilled sample: its accuracy, and its flips counted here."""
    avatar = ctx.layout.surrogate_sample("avatar", size.label, index)
    record = _read(avatar) | _flips(ctx, ctx.layout.work_of(avatar) / "best")
    return write_json_artifact(record)


def reused_sample_units(ctx: RunContext) -> list[Unit]:
    """MORPH's samples that AVATAR distilled (a step after AVATAR's samples)."""
    return [
        _sample_unit(ctx, method, size, index, _reused_sample)
        for method, size, index in _searched(ctx)
        if method == "morph" and _reuses_avatar_samples(ctx, size)
    ]


def _samples(
    ctx: RunContext, method: str, size: StudentSize, candidates: list[AvatarCandidate]
) -> list[dict[str, Any]]:
    """The distilled samples' records, checked to be the search's candidates."""
    samples = [
        _read(ctx.layout.surrogate_sample(method, size.label, i)) for i in range(len(candidates))
    ]
    if [s["candidate"] for s in samples] != [c.to_dict() for c in candidates]:
        raise RuntimeError(f"{ctx.root}: {method}'s samples of {size.label} are not its candidates")
    return samples


def _search(ctx: RunContext, method: str, size: StudentSize) -> Writer:
    caps = vocab_caps(ctx, TOKENIZER_KINDS)
    cap = ctx.cfg.students.max_length
    if method == "avatar":
        result: AvatarResult | MorphResult = avatar_search(
            size.target_mb,
            ctx.cfg.baselines.avatar.search,
            lambda found: [float(s["accuracy"]) for s in _samples(ctx, method, size, found)],
            max_length_cap=cap,
            vocab_caps=caps,
        )
    else:
        result = morph_search(
            size.target_mb,
            ctx.cfg.baselines.morph.search,
            lambda found: [
                (float(s["accuracy"]), None if s["constant"] else float(s["flip_rate"]))
                for s in _samples(ctx, method, size, found)
            ],
            max_length_cap=cap,
            vocab_caps=caps,
        )
    return write_json_artifact({"target_mb": size.target_mb, **result.to_dict()})


def search_units(ctx: RunContext) -> list[Unit]:
    return _per_search(ctx, ctx.layout.surrogate_search, _sample_depends, _search)


def search_record(ctx: RunContext, method: str, size: StudentSize) -> dict[str, Any] | None:
    """The search that chose a baseline's architecture at ``size`` (None for fixed presets)."""
    if method == "compressor":
        return _read(ctx.layout.compressor_search(size.label))
    if method in SURROGATE_SEARCHES:
        return _read(ctx.layout.surrogate_search(method, size.label))
    return None
