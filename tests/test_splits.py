"""Splits are deterministic, stratified and fingerprinted."""

from __future__ import annotations

from conftest import toy_samples

from moekd.data.splits import fingerprint, labeled_unlabeled_halves, stratified_split


def test_stratified_and_deterministic() -> None:
    samples = toy_samples(200)
    a = stratified_split(samples, [0.8, 0.1, 0.1], seed=3)
    b = stratified_split(samples, [0.8, 0.1, 0.1], seed=3)
    c = stratified_split(samples, [0.8, 0.1, 0.1], seed=4)
    assert a == b and a != c
    assert [len(p) for p in a] == [160, 20, 20]
    for part in a:
        assert sum(s.label for s in part) == len(part) // 2
    assert {s.idx for p in a for s in p} == {s.idx for s in samples}


def test_halves_are_disjoint_and_balanced() -> None:
    labeled, unlabeled = labeled_unlabeled_halves(toy_samples(100), seed=0)
    assert len(labeled) == len(unlabeled) == 50
    assert not {s.idx for s in labeled} & {s.idx for s in unlabeled}
    assert sum(s.label for s in labeled) == 25


def test_fingerprint_sees_any_change() -> None:
    samples = toy_samples(10)
    assert fingerprint(samples) == fingerprint(list(samples))
    changed = samples[:9] + [samples[9].__class__(samples[9].idx, samples[9].code + " ", 1)]
    assert fingerprint(changed) != fingerprint(samples)
    assert len(fingerprint(samples)) == 64


def test_groups_stay_together() -> None:
    samples = toy_samples(120)
    parts = stratified_split(samples, [0.5, 0.25, 0.25], seed=0, group=lambda s: int(s.idx) // 2)
    for part in parts:
        keys = [int(s.idx) // 2 for s in part]
        assert all(keys.count(k) == 2 for k in keys)
        assert sum(s.label for s in part) * 2 == len(part)
