"""Deterministic, stratified splits and the fingerprints that pin them in a run directory."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Sequence

import numpy as np

from moekd.data.samples import CodeSample


def fingerprint(samples: Sequence[CodeSample]) -> str:
    """sha256 over (idx, label, code) in order: two runs on the same split share it."""
    digest = hashlib.sha256()
    for s in samples:
        digest.update(json.dumps([s.idx, s.label, s.code]).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def stratified_subset(
    samples: Sequence[CodeSample], limit: int | None, seed: int
) -> list[CodeSample]:
    """``limit`` of ``samples`` drawn by label strata (all of them when ``limit`` is None or
    not smaller): the attack set, the fidelity set."""
    if limit is None or limit >= len(samples):
        return list(samples)
    fraction = limit / len(samples)
    return stratified_split(samples, [fraction, 1 - fraction], seed)[0]


def stratified_split(
    samples: Sequence[CodeSample],
    fractions: Sequence[float],
    seed: int,
    group: Callable[[CodeSample], Hashable] | None = None,
) -> list[list[CodeSample]]:
    """Split into parts of the given fractions (summing to 1), keeping each label's share in
    every part. With ``group``, samples sharing a key stay in one part (e.g. a vulnerable
    function and its fixed twin), stratified by the labels of the whole group. Order inside a
    part follows the input, so the result depends only on the seed."""
    if not samples:
        raise ValueError("cannot split an empty list of samples")
    if abs(sum(fractions) - 1.0) > 1e-6 or any(f < 0 for f in fractions):
        raise ValueError(f"fractions must be non-negative and sum to 1, got {list(fractions)}")
    units: dict[Hashable, list[int]] = {}
    for i, s in enumerate(samples):
        units.setdefault(group(s) if group else i, []).append(i)
    strata: dict[tuple, list[Hashable]] = {}
    for key, members in units.items():
        signature = tuple(
            sorted((samples[i].label is None, samples[i].label or 0) for i in members)
        )
        strata.setdefault(signature, []).append(key)
    rng = np.random.default_rng(seed)
    part_of = np.empty(len(samples), dtype=np.int64)
    bounds = np.cumsum(fractions)
    for signature in sorted(strata):
        keys = strata[signature]
        order = rng.permutation(len(keys))
        cuts = np.round(bounds * len(keys)).astype(int)
        start = 0
        for part, end in enumerate(cuts):
            for k in order[start:end]:
                part_of[units[keys[k]]] = part
            start = end
    return [
        [s for s, p in zip(samples, part_of, strict=True) if p == k] for k in range(len(fractions))
    ]


def labeled_unlabeled_halves(
    train: Sequence[CodeSample], seed: int, group: Callable[[CodeSample], Hashable] | None = None
) -> tuple[list[CodeSample], list[CodeSample]]:
    """Compressor's protocol: the teacher learns from one half of the training data; the
    students are distilled on the other half, whose labels they are not given."""
    labeled, unlabeled = stratified_split(train, [0.5, 0.5], seed, group)
    return labeled, unlabeled


def train_valid_test(
    samples: Sequence[CodeSample],
    seed: int,
    valid: float = 0.1,
    test: float = 0.1,
    group: Callable[[CodeSample], Hashable] | None = None,
) -> tuple[list[CodeSample], list[CodeSample], list[CodeSample]]:
    """The 80/10/10 split used when a data set comes as one file."""
    train, val, tst = stratified_split(samples, [1.0 - valid - test, valid, test], seed, group)
    return train, val, tst
