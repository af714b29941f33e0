"""The shipped model's threshold, calibration and card (``moekd package-model``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import toy_samples, train_toy_student, write_jsonl

from moekd.deploy.onnx_classifier import OnnxClassifier
from moekd.errors import UserError
from moekd.evaluation.calibration import reliability, threshold_for_precision
from moekd.evaluation.model_card import CardInputs, build_card


def test_threshold_is_the_lowest_score_that_keeps_the_precision() -> None:
    #          scores: 0.9 0.8 0.7 0.6 0.5 0.4
    labels = np.array([1, 1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    # Flagging down to 0.6 gives 3/4 = 0.75; down to 0.7 gives 2/3; 0.8 gives 2/2.
    t = threshold_for_precision(labels, scores, 0.75, min_flagged=1)
    assert (t.value, t.flagged, t.precision, t.recall) == (0.6, 4, 0.75, 1.0)
    assert threshold_for_precision(labels, scores, 0.9, min_flagged=1).value == 0.8
    # Too few flagged functions for the precision asked: refused, not guessed.
    with pytest.raises(UserError, match="no threshold reaches precision 0.90"):
        threshold_for_precision(labels, scores, 0.9, min_flagged=3)


def test_a_threshold_flags_every_tied_score() -> None:
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.7, 0.7, 0.7, 0.2])
    # At 0.7 all three tied functions are flagged (2/3), never its first (1/1); at 0.2, 2/4.
    t = threshold_for_precision(labels, scores, 0.6, min_flagged=1)
    assert (t.value, t.flagged) == (0.7, 3)


def test_reliability_on_a_hand_computed_example() -> None:
    labels = np.array([0, 1, 1, 1])
    scores = np.array([0.05, 0.15, 0.95, 0.85])
    result = reliability(labels, scores, bins=2)
    # Bin [0, .5): mean p 0.10, observed 0.5; bin [.5, 1]: mean p 0.90, observed 1.
    assert result["ece"] == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)
    assert result["brier"] == pytest.approx((0.05**2 + 0.85**2 + 0.05**2 + 0.15**2) / 4)
    assert [b["count"] for b in result["bins"]] == [2, 2]


def test_package_model_writes_a_self_describing_int8_file_and_card(tmp_path: Path) -> None:
    run = tmp_path / "run"
    student = "moekd_robust-1.5mb/seed-42"
    train_toy_student(run / "students" / "moekd_robust-1.5mb" / "seed-42")
    attack = run / "attacks" / "moekd_robust-1.5mb" / "seed-42" / "alert"
    attack.mkdir(parents=True)
    (attack / "summary.json").write_text(json.dumps({"attacked": 40, "succeeded": 10}))
    (run / "results.json").write_text(
        json.dumps({"name": "toy", "attack_setup": {"functions": 50, "budgets": {"alert": 9}}})
    )
    valid = write_jsonl(toy_samples(120, seed=5), tmp_path / "valid.jsonl")
    test = write_jsonl(toy_samples(120, seed=6), tmp_path / "test.jsonl")
    out = tmp_path / "shipped"
    card = build_card(CardInputs(run, student, valid, test, 0.8, "toy detector"), out)

    assert sorted(p.name for p in out.iterdir()) == ["README.md", "card.json", "model.int8.onnx"]
    meta = {p.key: p.value for p in onnx.load(str(out / "model.int8.onnx")).metadata_props}
    assert float(meta["moekd.threshold"]) == card["threshold"]["value"]
    assert meta["moekd.labels"] == "safe,vulnerable"
    assert meta["moekd.precision"] == "int8"
    assert card["threshold"]["validation_precision"] >= 0.8
    # The card's test figures are the shipped file's own, recomputed here.
    clf = OnnxClassifier.load(out / "model.int8.onnx")
    samples = toy_samples(120, seed=6)
    p = clf.predict_proba([s.code for s in samples])[:, 1]
    labels = np.array([s.label for s in samples])
    hits = (p >= card["threshold"]["value"]).astype(int) == labels
    assert card["test"]["at_threshold"]["accuracy"] == pytest.approx(hits.mean())
    assert card["robustness"]["alert"]["model"]["asr"] == 0.25
    assert card["scoring"] == "windows"  # as moekd scan scores: these toy functions fit one
    assert card["test"]["first_window_at_0.5"] == card["test"]["at_0.5"]
    readme = (out / "README.md").read_text()
    assert readme.startswith("---\nlicense: apache-2.0")
    assert "| alert | 9 | 25.0% (10/40;" in readme
    assert "transfer poorly" in readme
    assert json.loads((out / "card.json").read_text()) == card


def test_package_model_refuses_a_missing_student(tmp_path: Path) -> None:
    valid = write_jsonl(toy_samples(20), tmp_path / "v.jsonl")
    with pytest.raises(UserError, match="no trained student there"):
        build_card(CardInputs(tmp_path, "x-1.5mb/seed-1", valid, valid, 0.6, "x"), tmp_path / "o")


def test_card_scores_long_functions_over_windows_as_scan_does() -> None:
    from scan_fakes import WordClassifier, long_function

    from moekd.data.samples import CodeSample
    from moekd.evaluation.model_card import _scores

    late_flaw = [CodeSample("0", long_function("big", 80, flaw_at=60), 1)]
    clf = WordClassifier()
    assert _scores(clf, late_flaw, windowed=True)[0] == pytest.approx(0.95)  # seen in a window
    with pytest.raises(AssertionError, match="longer than the model reads"):
        _scores(clf, late_flaw, windowed=False)  # the fake refuses what a model would cut


def test_a_running_run_is_described_by_its_artifacts(tmp_path: Path) -> None:
    from moekd.evaluation.model_card import _run_facts
    from moekd.layout import RunLayout

    layout = RunLayout(tmp_path)
    layout.config.write_text("name: devign-cpu\nseed: 42\n")
    layout.data_splits.write_text(json.dumps({"source": "train.jsonl", "splits": {}}))
    layout.metrics("teacher").parent.mkdir(parents=True)
    layout.metrics("teacher").write_text(json.dumps({"test": {"accuracy": 0.6, "f1": 0.5}}))
    facts = _run_facts(layout)  # no results.json yet: the run is still attacking
    assert facts["name"] == "devign-cpu" and facts["dataset"]["source"] == "train.jsonl"
    assert facts["teacher"]["accuracy"] == 0.6
