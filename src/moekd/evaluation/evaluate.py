"""Measure a classifier on labelled samples: quality, size, cost and latency in one record."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moekd.data.samples import CodeSample, labels_of
from moekd.evaluation.metrics import metrics_from_proba
from moekd.models.classifier import CodeClassifier, HFClassifier
from moekd.models.footprint import footprint


def evaluate_classifier(clf: CodeClassifier, samples: Sequence[CodeSample]) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 and the mean wall time per function (batched)."""
    started = time.perf_counter()
    proba = clf.predict_proba([s.code for s in samples])
    seconds = time.perf_counter() - started
    metrics: dict[str, Any] = metrics_from_proba(labels_of(list(samples)), proba)
    metrics["latency_ms"] = 1000.0 * seconds / max(len(samples), 1)
    return metrics


def evaluate_folder(
    folder: str | Path,
    samples: Sequence[CodeSample],
    max_length: int | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Metrics plus params, size and GFLOPs of a saved Hugging Face classifier."""
    clf = HFClassifier.load(folder, max_length=max_length, batch_size=batch_size)
    metrics = evaluate_classifier(clf, samples)
    metrics.update(footprint(clf.model.config, clf.max_length).to_dict())
    return metrics
