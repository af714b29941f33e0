"""Input-space partitioning: which expert learns from which training function.

``kmeans`` clusters frozen encoder embeddings (the default: experts then specialise on regions
the router can recognise from the same embeddings); ``project`` splits by source project;
``random`` is the control. Tiny partitions are merged into their nearest neighbour so no expert
is trained on a handful of functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from moekd.data.samples import CodeSample


@dataclass
class Partition:
    """Assignments of training functions to K parts, and how to assign new inputs."""

    assignments: np.ndarray  # [N] part ids 0..K-1
    k: int
    strategy: str
    centroids: np.ndarray | None = None  # kmeans: [K, D], for assigning unseen inputs
    projects: list[str] | None = None  # project: the project name of each part

    def members(self, part: int) -> np.ndarray:
        return np.flatnonzero(self.assignments == part)

    def assign(self, embeddings: np.ndarray | None, samples: Sequence[CodeSample]) -> np.ndarray:
        """The part of unseen inputs (nearest centroid, or project; random parts have no
        region, so every input belongs to none: -1)."""
        if self.centroids is not None and embeddings is not None:
            return nearest(embeddings, self.centroids)
        if self.projects is not None:
            index = {p: i for i, p in enumerate(self.projects)}
            return np.array([index.get(s.project or "", -1) for s in samples])
        return np.full(len(samples), -1)

    def summary(self, samples: Sequence[CodeSample]) -> dict[str, Any]:
        parts = []
        for part in range(self.k):
            idx = self.members(part)
            labels = [samples[i].label for i in idx if samples[i].label is not None]
            parts.append(
                {
                    "part": part,
                    "n": int(len(idx)),
                    "vulnerable_fraction": float(np.mean(labels)) if labels else None,
                    **({"project": self.projects[part]} if self.projects else {}),
                }
            )
        return {"strategy": self.strategy, "k": self.k, "parts": parts}


def nearest(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    distances = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(-1)
    return distances.argmin(1)


def _merge_small(labels: np.ndarray, centroids: np.ndarray, points: np.ndarray, min_size: int):
    """Drop the smallest part while it is below ``min_size``; its points go to the nearest
    remaining centroid, which is then recomputed."""
    labels, centroids = labels.copy(), centroids.copy()
    while len(centroids) > 1:
        counts = np.bincount(labels, minlength=len(centroids))
        smallest = int(counts.argmin())
        if counts[smallest] >= min_size:
            break
        keep = [i for i in range(len(centroids)) if i != smallest]
        centroids = centroids[keep]
        labels = nearest(points, centroids)
        centroids = np.stack(
            [
                points[labels == i].mean(0) if (labels == i).any() else centroids[i]
                for i in range(len(keep))
            ]
        )
    return labels, centroids


def kmeans_partition(embeddings: np.ndarray, k: int, seed: int, min_size: int) -> Partition:
    k = max(1, min(k, len(embeddings) // max(min_size, 1)))
    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(embeddings)
    labels, centroids = _merge_small(model.labels_, model.cluster_centers_, embeddings, min_size)
    return Partition(labels, len(centroids), "kmeans", centroids=centroids)


def project_partition(samples: Sequence[CodeSample], k: int, min_size: int) -> Partition:
    """The k largest projects get an expert each; the rest join the last part."""
    names = [s.project or "unknown" for s in samples]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    ranked = [p for p, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_size]
    chosen = ranked[: max(1, k)] or [sorted(counts)[0]]
    index = {p: i for i, p in enumerate(chosen)}
    labels = np.array([index.get(n, len(chosen) - 1) for n in names])
    return Partition(labels, len(chosen), "project", projects=chosen)


def random_partition(n: int, k: int, seed: int) -> Partition:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % k)
    return Partition(labels, k, "random")


def make_partition(
    strategy: str,
    samples: Sequence[CodeSample],
    embeddings: np.ndarray | None,
    k: int,
    seed: int,
    min_size: int,
) -> Partition:
    if strategy == "kmeans":
        if embeddings is None:
            raise ValueError("kmeans partitioning needs embeddings")
        return kmeans_partition(embeddings, k, seed, min_size)
    if strategy == "project":
        return project_partition(samples, k, min_size)
    if strategy == "random":
        return random_partition(len(samples), k, seed)
    raise ValueError(f"unknown partition strategy {strategy!r}")
