"""What the mixture's stages share: its splits, its encoders, and the frozen arrays they cache.

Frozen embeddings and expert outputs are computed once per split and kept in the run
(``RUN/embeddings/SPLIT.npy``, ``RUN/expert_logits/SPLIT.npy``): the partition, the router,
the mixture's evaluation and the aggregated knowledge all read them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from moekd.data.prepare import twin_group
from moekd.data.samples import CodeSample
from moekd.data.splits import stratified_split
from moekd.models.classifier import HFClassifier
from moekd.stages.context import RunContext
from moekd.stages.teacher import TEACHER
from moekd.stages.unit import Unit, Writer, write_array_artifact

#: The splits the mixture reads: its own (pool, router) and the run's (valid, test, unlabeled).
MIXTURE_SPLITS = ("pool", "router", "valid", "test", "unlabeled")
EMBEDDINGS = (*TEACHER, "experts.embed_with", "router.fraction")
EXPERTS = (*TEACHER, "experts", "router.fraction")


def expert_and_router_splits(ctx: RunContext) -> tuple[list[CodeSample], list[CodeSample]]:
    """The labeled half, less a stratified router split the experts never train on."""
    fraction = ctx.cfg.router.fraction
    group = twin_group if ctx.cfg.data.source == "synthetic" else None
    pool, held_out = stratified_split(
        ctx.splits.labeled, [1 - fraction, fraction], ctx.cfg.data.seed, group
    )
    return pool, held_out


def mixture_splits(ctx: RunContext) -> dict[str, list[CodeSample]]:
    pool, held_out = expert_and_router_splits(ctx)
    return {
        "pool": pool,
        "router": held_out,
        "valid": ctx.splits.valid,
        "test": ctx.splits.test,
        "unlabeled": ctx.splits.unlabeled,
    }


def base_source(ctx: RunContext) -> str | Path | None:
    """The pre-trained encoder experts start from and embeddings come from, if any."""
    if ctx.teacher_arch is None:
        return ctx.teacher_source
    if ctx.cfg.teacher.pretrain.enabled:
        return ctx.layout.pretrain
    return None


def embedder_source(ctx: RunContext) -> str | Path:
    base = base_source(ctx)
    if ctx.cfg.experts.embed_with == "teacher" or base is None:
        return ctx.layout.teacher
    return base


@cache
def load_cached(source: str, max_length: int) -> HFClassifier:
    """One loaded classifier per folder and length for the whole process (stages share them)."""
    return HFClassifier.load(source, max_length=max_length, batch_size=32)


def expert_count(ctx: RunContext) -> int:
    return int(json.loads(ctx.layout.partition_record.read_text())["k"])


def expert_dirs(ctx: RunContext) -> list[Path]:
    return [ctx.layout.expert(k) for k in range(expert_count(ctx))]


# ---- the cached arrays -------------------------------------------------------------------
def _embed(ctx: RunContext, split: str) -> Writer:
    embedder = load_cached(str(embedder_source(ctx)), ctx.teacher_max_length)
    return write_array_artifact(embedder.embed([s.code for s in mixture_splits(ctx)[split]]))


def embedding_units(ctx: RunContext) -> list[Unit]:
    return [
        Unit(ctx.layout.embeddings(split), EMBEDDINGS, _embed, (split,), split)
        for split in MIXTURE_SPLITS
    ]


def _expert_logits(ctx: RunContext, split: str) -> Writer:
    codes = [s.code for s in mixture_splits(ctx)[split]]
    per_expert = [
        load_cached(str(d), ctx.teacher_max_length).logits(codes) for d in expert_dirs(ctx)
    ]
    return write_array_artifact(np.stack(per_expert, axis=1))


def expert_logit_units(ctx: RunContext) -> list[Unit]:
    """[N, K, 2] logits of every expert on the splits the router and knowledge read."""
    return [
        Unit(
            ctx.layout.expert_logits(split),
            EXPERTS,
            _expert_logits,
            (split,),
            split,
        )
        for split in MIXTURE_SPLITS
        if split != "pool"
    ]


def embeddings(ctx: RunContext, split: str) -> np.ndarray:
    return np.load(ctx.layout.embeddings(split), allow_pickle=False)


def expert_logits(ctx: RunContext, split: str) -> np.ndarray:
    return np.load(ctx.layout.expert_logits(split), allow_pickle=False)
