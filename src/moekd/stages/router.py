"""The router stage: the gate over frozen embeddings, trained with the experts frozen on a
split of the labeled half that the experts never saw; then the mixture is saved and measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import set_seed

from moekd.data.samples import CodeSample
from moekd.evaluation.evaluate import evaluate_classifier
from moekd.evaluation.metrics import classification_metrics
from moekd.io import write_json
from moekd.models.footprint import footprint
from moekd.models.moe import MixtureOfExperts
from moekd.models.router import Router, RouterSpec, mix
from moekd.stages.context import RunContext
from moekd.stages.mixture import (
    EXPERTS,
    embedder_source,
    embeddings,
    expert_dirs,
    expert_logits,
    load_cached,
    mixture_splits,
)
from moekd.stages.partition import load_partition
from moekd.stages.unit import Unit, Writer
from moekd.training.router import MixtureTask, PartitionTask, fit_router, router_examples

ROUTER = (*EXPERTS, "router")


def _labels(samples: list[CodeSample]) -> np.ndarray:
    return np.array([s.label for s in samples])


def mixture_metrics(ctx: RunContext, router: Router, split: str) -> dict[str, Any]:
    """The mixture's metrics and routing distribution on a split, from the cached arrays."""
    samples = mixture_splits(ctx)[split]
    with torch.no_grad():
        weights = router(torch.as_tensor(embeddings(ctx, split), dtype=torch.float))
        log_p = mix(torch.as_tensor(expert_logits(ctx, split)), weights, ctx.cfg.router.mix)
    out: dict[str, Any] = classification_metrics(_labels(samples), log_p.argmax(1).numpy())
    out["routing"] = weights.mean(0).tolist()
    out["top_expert_counts"] = np.bincount(
        weights.argmax(1).numpy(), minlength=weights.shape[1]
    ).tolist()
    return out


def _fit(ctx: RunContext) -> tuple[Router, dict[str, Any]]:
    cfg = ctx.cfg.router
    splits = mixture_splits(ctx)
    partition = load_partition(ctx)
    dims = embeddings(ctx, "router").shape[1]
    set_seed(cfg.train.seed)
    spec = RouterSpec(dims, partition.k, cfg.hidden, cfg.dropout, cfg.top_k, cfg.gate_temperature)
    router = Router(spec)
    history: dict[str, Any] = {}
    if cfg.init_from_partition and partition.k > 1:
        init = router_examples(embeddings(ctx, "pool"), None, parts=partition.assignments)
        history["init"] = fit_router(
            router,
            PartitionTask(),
            init,
            None,
            cfg.init_train,
            ctx.layout.work_of(ctx.layout.router) / "init",
            "router init",
        ).to_dict()
    train = router_examples(
        embeddings(ctx, "router"), expert_logits(ctx, "router"), _labels(splits["router"])
    )
    valid = router_examples(
        embeddings(ctx, "valid"), expert_logits(ctx, "valid"), _labels(splits["valid"])
    )
    history["mixture"] = fit_router(
        router,
        MixtureTask(cfg.mix, cfg.balance_weight, cfg.entropy_weight),
        train,
        valid,
        cfg.train,
        ctx.layout.work_of(ctx.layout.router) / "mixture",
        "router",
    ).to_dict()
    return router.eval(), history


def _router(ctx: RunContext) -> Writer:
    router, history = _fit(ctx)

    def write(tmp: Path) -> None:
        experts = expert_dirs(ctx)
        embedder = embedder_source(ctx)
        max_length = ctx.teacher_max_length
        moe = MixtureOfExperts(
            load_cached(str(embedder), max_length),
            [load_cached(str(d), max_length) for d in experts],
            router,
            ctx.cfg.router.mix,
        )
        moe.save(tmp, embedder, experts)
        timing = evaluate_classifier(moe, ctx.splits.test[:64])
        parts = [json.loads((d / "metrics.json").read_text())["test"]["params"] for d in experts]
        parts.append(footprint(moe.embedder.model.config).params)
        metrics = {
            "valid": mixture_metrics(ctx, router, "valid"),
            "test": {
                **mixture_metrics(ctx, router, "test"),
                "params": int(sum(parts) + sum(p.numel() for p in router.parameters())),
                "latency_ms": timing["latency_ms"],
            },
            "history": history,
        }
        write_json(tmp / "metrics.json", metrics)

    return write


def router_units(ctx: RunContext) -> list[Unit]:
    return [Unit(ctx.layout.router, ROUTER, _router, collective=True)]
