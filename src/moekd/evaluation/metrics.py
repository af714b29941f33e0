"""Classification metrics with the project's label convention (1 = vulnerable = positive)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy and the precision, recall and F1 of the vulnerable class."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", pos_label=1, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "n": int(len(y_true)),
    }


def metrics_from_proba(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    return classification_metrics(y_true, np.asarray(proba).argmax(axis=-1))
