"""Stages of the mixture: partition the input space, fine-tune an expert per part, and train the
router on a held-out split with the experts frozen.

Frozen embeddings and expert outputs are computed once per split and cached in the run
(``RUN/embeddings/SPLIT.npy``, ``RUN/expert_logits/SPLIT.npy``), because the router, the
mixture's evaluation and the aggregated knowledge all read them.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import set_seed
from transformers import AutoTokenizer

from moekd.data.samples import CodeSample
from moekd.data.splits import stratified_split
from moekd.evaluation.evaluate import evaluate_classifier
from moekd.evaluation.metrics import classification_metrics
from moekd.io import atomic_write_json
from moekd.models.classifier import HFClassifier
from moekd.models.footprint import footprint
from moekd.models.moe import MixtureOfExperts
from moekd.models.router import Router, RouterSpec, mix
from moekd.parallel import run_units, worker_count
from moekd.run import Run, cached_array, publish
from moekd.training.finetune import classifier_from_encoder, finetune_classifier
from moekd.training.partition import Partition, make_partition
from moekd.training.router import MixtureTask, PartitionTask, fit_router, router_examples

MIN_REGION_VALID = 50  # fewer own-region validation examples: select on the whole valid set


# ---- the data the mixture sees ---------------------------------------------------------
def expert_and_router_splits(run: Run) -> tuple[list[CodeSample], list[CodeSample]]:
    """The labeled half, less a stratified router split the experts never train on."""
    from moekd.data.prepare import twin_group

    labeled = run.splits.labeled
    fraction = run.cfg.router.fraction
    group = twin_group if run.cfg.data.source == "synthetic" else None
    pool, held_out = stratified_split(labeled, [1 - fraction, fraction], run.cfg.data.seed, group)
    return pool, held_out


def mixture_splits(run: Run) -> dict[str, list[CodeSample]]:
    pool, held_out = expert_and_router_splits(run)
    return {
        "pool": pool,
        "router": held_out,
        "valid": run.splits.valid,
        "test": run.splits.test,
        "unlabeled": run.splits.unlabeled,
    }


def base_source(run: Run) -> str | Path | None:
    """The pre-trained encoder experts start from and embeddings come from, if any."""
    if run.teacher_arch is None:
        return run.teacher_source
    if run.cfg.teacher.pretrain.enabled:
        return run.path("pretrain")
    return None


def embedder_source(run: Run) -> str | Path:
    base = base_source(run)
    if run.cfg.experts.embed_with == "teacher" or base is None:
        return run.path("teacher")
    return base


@cache
def load_cached(source: str, max_length: int) -> HFClassifier:
    """One loaded classifier per folder and length for the whole process (stages share them)."""
    return HFClassifier.load(source, max_length=max_length, batch_size=32)


def embeddings(run: Run, split: str) -> np.ndarray:
    samples = mixture_splits(run)[split]

    def compute() -> np.ndarray:  # the encoder loads only when the array is not cached
        embedder = load_cached(str(embedder_source(run)), run.teacher_max_length)
        return embedder.embed([s.code for s in samples])

    return cached_array(run.path("embeddings", f"{split}.npy"), compute)


def expert_dirs(run: Run) -> list[Path]:
    summary = json.loads(run.path("partition", "partition.json").read_text())
    return [run.path("experts", str(k)) for k in range(summary["k"])]


def expert_logits(run: Run, split: str) -> np.ndarray:
    """[N, K, 2] logits of every expert on a split."""
    samples = mixture_splits(run)[split]

    def compute() -> np.ndarray:
        codes = [s.code for s in samples]
        per_expert = [
            load_cached(str(d), run.teacher_max_length).logits(codes) for d in expert_dirs(run)
        ]
        return np.stack(per_expert, axis=1)

    return cached_array(run.path("expert_logits", f"{split}.npy"), compute)


# ---- partition -------------------------------------------------------------------------
def load_partition(run: Run) -> Partition:
    folder = run.path("partition")
    record = json.loads((folder / "partition.json").read_text())
    centroids = folder / "centroids.npy"
    return Partition(
        assignments=np.array(record["assignments"]),
        k=record["k"],
        strategy=record["strategy"],
        centroids=np.load(centroids) if centroids.exists() else None,
        projects=record.get("projects"),
    )


def stage_partition(run: Run) -> None:
    cfg = run.cfg.experts
    pool = mixture_splits(run)["pool"]
    emb = embeddings(run, "pool") if cfg.partition == "kmeans" else None
    partition = make_partition(cfg.partition, pool, emb, cfg.k, run.cfg.seed, cfg.min_size)

    def fill(tmp: Path) -> None:
        record = {
            **partition.summary(pool),
            "requested_k": cfg.k,
            "embedder": str(embedder_source(run)),
            "assignments": partition.assignments.tolist(),
            "projects": partition.projects,
        }
        atomic_write_json(tmp / "partition.json", record)
        if partition.centroids is not None:
            np.save(tmp / "centroids.npy", partition.centroids, allow_pickle=False)

    publish(run.path("partition"), fill)


# ---- experts ---------------------------------------------------------------------------
def _expert_start(run: Run):
    """Warm start from the pre-trained base (default) or from the full-data teacher."""
    base = base_source(run)
    source = (
        run.path("teacher") if run.cfg.experts.warm_start == "teacher" or base is None else base
    )
    return classifier_from_encoder(source), AutoTokenizer.from_pretrained(source), str(source)


def _train_expert(run: Run, part: int, partition: Partition) -> None:
    pool = mixture_splits(run)["pool"]
    valid = run.splits.valid
    members = [pool[i] for i in partition.members(part)]
    valid_parts = partition.assign(
        embeddings(run, "valid") if partition.centroids is not None else None, valid
    )
    own_valid = [s for s, p in zip(valid, valid_parts, strict=True) if p == part]
    select_on = own_valid if len(own_valid) >= MIN_REGION_VALID else valid
    set_seed(run.cfg.experts.train.seed + part)
    model, tokenizer, started_from = _expert_start(run)
    work = run.path("work", "experts", str(part))
    result = finetune_classifier(
        model,
        tokenizer,
        members,
        select_on,
        run.cfg.experts.train,
        work,
        run.teacher_max_length,
        description=f"expert {part}",
    )

    def fill(tmp: Path) -> None:
        shutil.copytree(work / "best", tmp, dirs_exist_ok=True)
        clf = HFClassifier.load(tmp, max_length=run.teacher_max_length)
        metrics = {
            "part": part,
            "train_size": len(members),
            "warm_start": started_from,
            "selected_on": "own-region valid" if select_on is own_valid else "whole valid",
            "own_region_valid": evaluate_classifier(clf, own_valid) if own_valid else None,
            "valid": evaluate_classifier(clf, valid),
            "test": {
                **evaluate_classifier(clf, run.splits.test),
                **footprint(clf.model.config, clf.max_length).to_dict(),
            },
            "train_result": result.to_dict(),
        }
        atomic_write_json(tmp / "metrics.json", metrics)

    publish(run.path("experts", str(part)), fill)


def _expert_job(job: tuple[Run, int]) -> None:
    run, part = job
    _train_expert(run, part, load_partition(run))


def stage_experts(run: Run) -> None:
    """One expert per part; each is its own resumable unit."""
    partition = load_partition(run)
    pending = [part for part in range(partition.k) if not run.path("experts", str(part)).exists()]
    workers = worker_count(run.workers, len(pending))
    if workers > 1 and partition.centroids is not None:
        embeddings(run, "valid")  # every expert reads them: cached once, before the fan-out
    run_units(_expert_job, [(run, part) for part in pending], workers, "experts")
    summary = [
        json.loads(run.path("experts", str(k), "metrics.json").read_text())
        for k in range(partition.k)
    ]
    atomic_write_json(run.path("experts", "summary.json"), summary)


# ---- router ----------------------------------------------------------------------------
def _labels(samples: list[CodeSample]) -> np.ndarray:
    return np.array([s.label for s in samples])


def mixture_metrics(run: Run, router: Router, split: str) -> dict[str, Any]:
    """The mixture's metrics and routing distribution on a split, from the cached arrays."""
    samples = mixture_splits(run)[split]
    with torch.no_grad():
        weights = router(torch.as_tensor(embeddings(run, split), dtype=torch.float))
        log_p = mix(torch.as_tensor(expert_logits(run, split)), weights, run.cfg.router.mix)
    out: dict[str, Any] = classification_metrics(_labels(samples), log_p.argmax(1).numpy())
    out["routing"] = weights.mean(0).tolist()
    out["top_expert_share"] = np.bincount(
        weights.argmax(1).numpy(), minlength=weights.shape[1]
    ).tolist()
    return out


def stage_router(run: Run) -> None:
    cfg = run.cfg.router
    splits = mixture_splits(run)
    partition = load_partition(run)
    dims = embeddings(run, "router").shape[1]
    set_seed(cfg.train.seed)
    router = Router(
        RouterSpec(dims, partition.k, cfg.hidden, cfg.dropout, cfg.top_k, cfg.temperature)
    )
    history: dict[str, Any] = {}
    if cfg.init_from_partition and partition.k > 1:
        init = router_examples(embeddings(run, "pool"), None, parts=partition.assignments)
        history["init"] = fit_router(
            router,
            PartitionTask(),
            init,
            None,
            cfg.init_train,
            run.path("work", "router-init"),
            "router init",
        ).to_dict()
    train = router_examples(
        embeddings(run, "router"), expert_logits(run, "router"), _labels(splits["router"])
    )
    valid = router_examples(
        embeddings(run, "valid"), expert_logits(run, "valid"), _labels(splits["valid"])
    )
    history["mixture"] = fit_router(
        router,
        MixtureTask(cfg.mix, cfg.balance_weight, cfg.entropy_weight),
        train,
        valid,
        cfg.train,
        run.path("work", "router"),
        "router",
    ).to_dict()
    router.eval()

    def fill(tmp: Path) -> None:
        experts = expert_dirs(run)
        embedder = embedder_source(run)
        moe = MixtureOfExperts(
            load_cached(str(embedder), run.teacher_max_length),
            [load_cached(str(d), run.teacher_max_length) for d in experts],
            router,
            cfg.mix,
        )
        moe.save(tmp, embedder, experts)
        sample = run.splits.test[:64]
        timing = evaluate_classifier(moe, sample)
        parts = [json.loads((d / "metrics.json").read_text())["test"]["params"] for d in experts]
        parts.append(footprint(moe.embedder.model.config).params)
        metrics = {
            "valid": mixture_metrics(run, router, "valid"),
            "test": {
                **mixture_metrics(run, router, "test"),
                "params": int(sum(parts) + sum(p.numel() for p in router.parameters())),
                "latency_ms": timing["latency_ms"],
            },
            "history": history,
        }
        atomic_write_json(tmp / "metrics.json", metrics)

    publish(run.path("router"), fill)
