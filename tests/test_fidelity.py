"""Behavioural fidelity's arithmetic and MORPH's flip count, on hand-made labels."""

from __future__ import annotations

import numpy as np
import pytest

from moekd.data.samples import CodeSample
from moekd.errors import UserError
from moekd.evaluation.fidelity import (
    ABSENT,
    FidelityLabels,
    checked_relations,
    flip_rates,
    labels_of,
    pooled_flip_rate,
    predict_labels,
    variant_rows,
)

SAMPLES = [
    CodeSample(
        idx=str(i), code=f"int f{i}(int a, int b) {{ int c = a + b; return c * {i}; }}", label=i % 2
    )
    for i in range(4)
]


class LengthModel:
    """Label 1 for code longer than 50 characters: renaming to longer names flips it."""

    def predict_proba(self, codes: list[str]) -> np.ndarray:
        long = np.array([len(c) > 50 for c in codes], dtype=float)
        return np.column_stack([1 - long, long])


def test_pooled_flip_rate_counts_flips_over_every_varied_pair() -> None:
    labels = FidelityLabels(
        originals=np.array([0, 1, 1, 0]),
        variants={
            "a": np.array([1, 1, ABSENT, 0]),  # 1 flip of 3 varied
            "b": np.array([ABSENT, 0, 0, ABSENT]),  # 2 flips of 2 varied
        },
    )
    assert pooled_flip_rate(labels) == pytest.approx(3 / 5)
    assert flip_rates(labels) == pytest.approx({"a": 1 / 3, "b": 1.0})
    nothing = FidelityLabels(np.array([0]), {"a": np.array([ABSENT])})
    assert pooled_flip_rate(nothing) == 0.0


def test_variant_rows_and_labels_round_trip_through_json() -> None:
    rows = variant_rows(SAMPLES, ["rename", "operand-swap"], seed=3)
    assert [r["idx"] for r in rows] == [s.idx for s in SAMPLES]
    assert all(set(r["variants"]) == {"rename", "operand-swap"} for r in rows)
    assert rows == variant_rows(SAMPLES, ["rename", "operand-swap"], seed=3)  # deterministic
    assert all(r["variants"]["operand-swap"] != s.code for r, s in zip(rows, SAMPLES, strict=True))
    record = predict_labels(LengthModel(), SAMPLES, rows)
    labels = labels_of(record)
    expected = LengthModel().predict_proba([s.code for s in SAMPLES]).argmax(1)
    np.testing.assert_array_equal(labels.originals, expected)
    for relation, variant in labels.variants.items():
        codes = [r["variants"][relation] for r in rows]
        np.testing.assert_array_equal(variant, LengthModel().predict_proba(codes).argmax(1))


def test_unknown_relations_are_a_user_error_naming_the_setting() -> None:
    assert checked_relations(None, "x")[0] == "rename"
    with pytest.raises(UserError, match="baselines.morph.flips.relations: unknown loop-unroll"):
        checked_relations(["rename", "loop-unroll"], "baselines.morph.flips.relations")
