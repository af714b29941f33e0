"""The partition stage: which expert learns from which function of the labeled pool."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from moekd.data.partition import Partition, make_partition
from moekd.io import write_json
from moekd.stages.context import RunContext
from moekd.stages.mixture import embedder_source, embeddings, mixture_splits
from moekd.stages.teacher import TEACHER
from moekd.stages.unit import Unit, Writer

PARTITION = (
    *TEACHER,
    "experts.k",
    "experts.partition",
    "experts.embed_with",
    "experts.min_size",
    "router.fraction",
)


def load_partition(ctx: RunContext) -> Partition:
    record = json.loads(ctx.layout.partition_record.read_text())
    centroids = ctx.layout.centroids
    return Partition(
        assignments=np.array(record["assignments"]),
        k=record["k"],
        strategy=record["strategy"],
        centroids=np.load(centroids) if centroids.exists() else None,
        projects=record.get("projects"),
    )


def _partition(ctx: RunContext) -> Writer:
    cfg = ctx.cfg.experts
    pool = mixture_splits(ctx)["pool"]
    emb = embeddings(ctx, "pool") if cfg.partition == "kmeans" else None
    partition = make_partition(cfg.partition, pool, emb, cfg.k, ctx.cfg.seed, cfg.min_size)

    def write(tmp: Path) -> None:
        record = {
            **partition.summary(pool),
            "requested_k": cfg.k,
            "embedder": str(embedder_source(ctx)),
            "assignments": partition.assignments.tolist(),
            "projects": partition.projects,
        }
        write_json(tmp / "partition.json", record)
        if partition.centroids is not None:
            np.save(tmp / "centroids.npy", partition.centroids, allow_pickle=False)

    return write


def partition_units(ctx: RunContext) -> list[Unit]:
    return [Unit(ctx.layout.partition, PARTITION, _partition)]
