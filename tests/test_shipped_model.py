"""The detector the wheel ships (``src/moekd/deploy/shipped/``): small, self-describing, and
what a plain ``moekd scan`` uses."""

from __future__ import annotations

import json

import onnx
import pytest

from moekd.deploy.default_model import DEFAULT_MODEL, SHIPPED, default_model
from moekd.deploy.onnx_classifier import OnnxClassifier
from moekd.evaluation.model_card import LABELS, MAX_MB, render_card

# Model files are never committed: the ONNX file is put there by `moekd package-model` (the
# command is in shipped/README.md) before a wheel is built; a bare checkout has only its card.
needs_model = pytest.mark.skipif(
    not DEFAULT_MODEL.is_file(), reason=f"no packaged model at {DEFAULT_MODEL}"
)


@needs_model
def test_the_shipped_model_is_small_and_carries_its_threshold_and_labels() -> None:
    assert default_model() == DEFAULT_MODEL
    assert DEFAULT_MODEL.stat().st_size <= MAX_MB * 1e6
    meta = {p.key: p.value for p in onnx.load(str(DEFAULT_MODEL)).metadata_props}
    assert meta["moekd.precision"] == "int8"
    assert meta["moekd.labels"] == ",".join(LABELS)
    card = json.loads((SHIPPED / "card.json").read_text())
    assert float(meta["moekd.threshold"]) == card["threshold"]["value"]


def test_the_card_is_rendered_from_its_figures() -> None:
    card = json.loads((SHIPPED / "card.json").read_text())
    assert (SHIPPED / "README.md").read_text() == render_card(card)


@needs_model
def test_the_shipped_model_scores_c_functions() -> None:
    clf = OnnxClassifier.load(DEFAULT_MODEL)
    proba = clf.predict_proba(
        ["int f(char *s) { char b[8]; strcpy(b, s); return 0; }", "int g(void) { return 0; }"]
    )
    assert proba.shape == (2, 2) and abs(float(proba.sum()) - 2.0) < 1e-4
