"""Batching shared by every classifier backend, with no torch in sight: the ONNX classifier and
the scanner import it on a light install (numpy only), the torch classifier uses the same
buckets so both backends score the same batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def length_buckets(codes: Sequence[str], batch_size: int) -> list[list[int]]:
    """Batches of indices of similar length, so padding wastes little compute."""
    order = sorted(range(len(codes)), key=lambda i: len(codes[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def map_in_buckets(
    codes: Sequence[str], batch_size: int, fn: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """``fn`` over length-bucketed batches of ``codes``, rows put back in input order."""
    if not codes:
        return np.zeros((0, 0), dtype=np.float32)
    rows: list[np.ndarray | None] = [None] * len(codes)
    for batch_idx in length_buckets(codes, batch_size):
        out = fn([codes[i] for i in batch_idx])
        for j, i in enumerate(batch_idx):
            rows[i] = out[j]
    return np.stack(rows)  # type: ignore[arg-type]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so large logits do not overflow."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
