"""Measure a classifier on labelled samples: quality, size, cost and latency in one record."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moekd.data.samples import CodeSample, labels_of
from moekd.evaluation.metrics import metrics_from_proba
from moekd.models.classifier import CodeClassifier


def measure_classifier(
    clf: CodeClassifier, samples: Sequence[CodeSample]
) -> tuple[dict[str, Any], np.ndarray]:
    """Accuracy, precision, recall, F1 and the mean wall time per function (batched), and the
    predicted probabilities they come from ([N, 2])."""
    started = time.perf_counter()
    proba = clf.predict_proba([s.code for s in samples])
    seconds = time.perf_counter() - started
    metrics: dict[str, Any] = metrics_from_proba(labels_of(list(samples)), proba)
    metrics["latency_ms"] = 1000.0 * seconds / max(len(samples), 1)
    return metrics, np.asarray(proba)


def evaluate_classifier(clf: CodeClassifier, samples: Sequence[CodeSample]) -> dict[str, Any]:
    return measure_classifier(clf, samples)[0]


def measure_folder(
    folder: str | Path,
    samples: Sequence[CodeSample],
    max_length: int | None = None,
    batch_size: int = 32,
    backend: str = "auto",
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics plus params, size (MB) and GFLOPs of a saved classifier (a Hugging Face folder
    or hub id, or an ONNX export; ``backend``: auto, torch, onnx, onnx-int8), and its
    predicted probabilities. Off PyTorch, ``backend`` and ``model_precision`` (fp32, int8)
    say what ran."""
    from moekd.deploy.loading import load_classifier, model_info

    clf = load_classifier(folder, backend, batch_size=batch_size, max_length=max_length)
    metrics, proba = measure_classifier(clf, samples)
    info = model_info(clf, folder)
    metrics.update({"params": info.params, "size_mb": info.size_mb, "gflops": info.gflops})
    if info.backend != "torch":
        # not "precision": that key is the classification metric above
        metrics.update({"backend": info.backend, "model_precision": info.precision})
    return metrics, proba


def evaluate_folder(
    folder: str | Path,
    samples: Sequence[CodeSample],
    max_length: int | None = None,
    batch_size: int = 32,
    backend: str = "auto",
) -> dict[str, Any]:
    """:func:`measure_folder`'s metrics alone."""
    return measure_folder(folder, samples, max_length, batch_size, backend)[0]
