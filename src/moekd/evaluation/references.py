"""Classic references every run reports beside its models: TF-IDF over C tokens (word 1-2
grams) + logistic regression, and always predicting the majority class. A neural student that
does not beat them is not worth shipping; both are fitted on the labeled half (the teacher's
data) and measured on the same test split, in seconds."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from moekd.data.samples import CodeSample, labels_of
from moekd.evaluation.metrics import classification_metrics

#: C tokens: identifiers, numbers, and runs of punctuation.
TOKEN_PATTERN = r"[A-Za-z_]\w*|\d+|[^\sA-Za-z_\d]+"


def _labels(samples: Sequence[CodeSample]) -> np.ndarray:
    return np.array(labels_of(list(samples)))


def _timed(metrics: dict[str, Any], seconds: float, n: int, params: int | None) -> dict[str, Any]:
    """The fields a model entry has: no weights file, so no size; no FLOPs counted."""
    latency = 1000.0 * seconds / max(n, 1)
    return {**metrics, "latency_ms": latency, "params": params, "size_mb": None, "gflops": None}


def tfidf_lr(train: Sequence[CodeSample], test: Sequence[CodeSample]) -> dict[str, Any]:
    vectorizer = TfidfVectorizer(
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, 2),
        min_df=2,
        max_features=200_000,
        sublinear_tf=True,
    )
    x_train = vectorizer.fit_transform(s.code for s in train)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x_train, _labels(train))
    started = time.perf_counter()
    predicted = model.predict(vectorizer.transform(s.code for s in test))
    seconds = time.perf_counter() - started
    metrics = classification_metrics(_labels(test), predicted)
    return _timed(metrics, seconds, len(test), int(model.coef_.size + model.intercept_.size))


def majority(train: Sequence[CodeSample], test: Sequence[CodeSample]) -> dict[str, Any]:
    labels = _labels(test)
    predicted = np.full_like(labels, np.bincount(_labels(train)).argmax())
    return _timed(classification_metrics(labels, predicted), 0.0, len(test), 0)


def references(train: Sequence[CodeSample], test: Sequence[CodeSample]) -> dict[str, Any]:
    """``tfidf_lr`` and ``majority``, fitted on ``train`` and measured on ``test``."""
    return {"tfidf_lr": tfidf_lr(train, test), "majority": majority(train, test)}
