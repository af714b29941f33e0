"""The search stage: the baselines' architecture searches, once per student size, saved under
``RUN/search/`` so every seed (and a rerun) distils the same architecture.

Steps: the vocabulary each tokenizer kind really learns (caps that keep sizes honest);
Compressor's GA; AVATAR's samples (chosen, their tokenizers trained, each distilled briefly as
its own unit) and then its surrogate-assisted NSGA-II over them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moekd.architecture.avatar import AvatarCandidate, avatar_candidates, avatar_search
from moekd.architecture.compressor import VOCAB_SIZES, compressor_search
from moekd.config import StudentSize
from moekd.data.tokenizer_kinds import TOKENIZER_KINDS, train_tokenizer
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
AVATAR_SPACE = ("data", "students.max_length", "baselines.avatar.search")
# What a distilled student depends on: its knowledge, its block and its training.
DISTILLED = (
    *ROUTER,
    "students.max_length",
    "students.temperature",
    "students.alpha",
    "students.train",
)
AVATAR = (*DISTILLED, "baselines.avatar")


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
    if _sizes(ctx, "avatar"):
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


# ---- AVATAR ------------------------------------------------------------------------------
def _candidates(ctx: RunContext, size: StudentSize) -> Writer:
    found = avatar_candidates(
        size.target_mb,
        ctx.cfg.baselines.avatar.search,
        max_length_cap=ctx.cfg.students.max_length,
        vocab_caps=vocab_caps(ctx, TOKENIZER_KINDS),
    )
    return write_json_artifact([c.to_dict() for c in found])


def read_candidates(ctx: RunContext, size: StudentSize) -> list[AvatarCandidate]:
    return [AvatarCandidate.from_dict(c) for c in _read(ctx.layout.avatar_candidates(size.label))]


def candidate_units(ctx: RunContext) -> list[Unit]:
    return _per_size(ctx, "avatar", ctx.layout.avatar_candidates, AVATAR_SPACE, _candidates)


def sample_tokenizer_units(ctx: RunContext) -> list[Unit]:
    needs = [
        (c.tokenizer, c.arch) for size in _sizes(ctx, "avatar") for c in read_candidates(ctx, size)
    ]
    return student_tokenizer_units(ctx, needs)


def _sample(ctx: RunContext, size: StudentSize, index: int) -> Writer:
    """Really distil one AVATAR sample briefly (teacher knowledge, a fixed subset of the
    distillation split, ``baselines.avatar.sample_epochs``): its validation accuracy."""
    settings = ctx.cfg.baselines.avatar
    candidate = read_candidates(ctx, size)[index]
    pool = ctx.splits.unlabeled
    rng = np.random.default_rng(settings.search.seed)
    limit = settings.sample_limit
    picked = np.sort(rng.permutation(len(pool))[:limit]) if limit else np.arange(len(pool))
    knowledge = np.load(ctx.layout.knowledge_source("teacher"))
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
        ctx.layout.work_of(ctx.layout.avatar_sample(size.label, index)),
        settings.temperature,
        description=f"avatar sample {index + 1}/{settings.search.samples}",
    )
    return write_json_artifact(
        {"candidate": candidate.to_dict(), "accuracy": float(result.best_metrics["accuracy"])}
    )


def sample_units(ctx: RunContext) -> list[Unit]:
    return [
        Unit(
            ctx.layout.avatar_sample(size.label, index),
            AVATAR,
            _sample,
            (size, index),
            f"{_size_salt(size)}:{index}",
            collective=True,
            fan_out=True,
        )
        for size in _sizes(ctx, "avatar")
        for index in range(len(read_candidates(ctx, size)))
    ]


def _avatar(ctx: RunContext, size: StudentSize) -> Writer:
    def measure(candidates: list[AvatarCandidate]) -> list[float]:
        samples = [_read(ctx.layout.avatar_sample(size.label, i)) for i in range(len(candidates))]
        if [s["candidate"] for s in samples] != [c.to_dict() for c in candidates]:
            raise RuntimeError(
                f"{ctx.root}: AVATAR's samples of {size.label} are not its candidates"
            )
        return [float(s["accuracy"]) for s in samples]

    result = avatar_search(
        size.target_mb,
        ctx.cfg.baselines.avatar.search,
        measure,
        max_length_cap=ctx.cfg.students.max_length,
        vocab_caps=vocab_caps(ctx, TOKENIZER_KINDS),
    )
    return write_json_artifact({"target_mb": size.target_mb, **result.to_dict()})


def avatar_units(ctx: RunContext) -> list[Unit]:
    return _per_size(ctx, "avatar", ctx.layout.avatar_search, AVATAR, _avatar)


def search_record(ctx: RunContext, method: str, size: StudentSize) -> dict[str, Any] | None:
    """The search that chose a baseline's architecture at ``size`` (None for fixed presets)."""
    if method == "compressor":
        return _read(ctx.layout.compressor_search(size.label))
    if method == "avatar":
        return _read(ctx.layout.avatar_search(size.label))
    return None
