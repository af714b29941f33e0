"""Package one student of a run as a deployable detector: an INT8 ONNX file that carries its
operating threshold and labels, and a model card (``README.md`` in Hugging Face style, plus
``card.json``) whose every figure is measured here or read from the run that trained it.

The threshold is chosen on the validation split; accuracy, calibration and the threshold's
precision are measured on test with the INT8 file itself (what users run), and robustness is
the run's own attack records of that student.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moekd.data.loaders import load_samples
from moekd.data.samples import CodeSample, labels_of
from moekd.errors import UserError
from moekd.evaluation.calibration import Threshold, reliability, threshold_for_precision
from moekd.evaluation.metrics import classification_metrics
from moekd.evaluation.stats import proportion_interval
from moekd.io import atomic_dir, atomic_write_text, json_text
from moekd.layout import TEACHER, RunLayout

MODEL_FILE = "model.int8.onnx"
LABELS = ("safe", "vulnerable")
#: The largest packaged model the project ships (issue: at most 2 MB).
MAX_MB = 2.0


@dataclass(frozen=True)
class CardInputs:
    """What the card is about: a run, one of its students, the splits it is measured on."""

    run: Path
    student: str  # a target: moekd_robust-1.5mb/seed-42
    valid: Path
    test: Path
    precision: float
    name: str
    #: Score as ``moekd scan`` does (every window of a long function, the highest counts);
    #: False: the model's first ``max_length`` tokens only, as training and the run's tables.
    windowed: bool = True


#: Functions scored per step of the progress line.
_CHUNK = 256


def _scores(
    classifier: Any, samples: list[CodeSample], windowed: bool, what: str = "scoring"
) -> np.ndarray:
    """p(vulnerable) of every sample, in chunks that report progress (a Devign split over
    windows takes minutes on 2 cores)."""
    from moekd.deploy.scoring import Scorer
    from moekd.progress import LiveProgress

    codes = [s.code for s in samples]
    scorer = Scorer(classifier)
    out: list[float] = []
    with LiveProgress(what, len(codes), unit="functions") as progress:
        for start in range(0, len(codes), _CHUNK):
            chunk = codes[start : start + _CHUNK]
            if windowed:
                out.extend(score.probability for score in scorer.score(chunk))
            else:
                out.extend(np.asarray(classifier.predict_proba(chunk))[:, 1].tolist())
            progress.advance(len(chunk))
    return np.asarray(out)


def _with_interval(metrics: dict[str, Any]) -> dict[str, Any]:
    n = int(metrics["n"])
    low, high = proportion_interval(round(metrics["accuracy"] * n), n)
    return {**metrics, "accuracy_interval": [low, high]}


def _robustness(layout: RunLayout, target: str) -> dict[str, Any]:
    """Every finished attack of ``target`` (and of the teacher, for comparison): ASR with its
    Wilson interval, from the run's own summaries."""
    out: dict[str, Any] = {}
    for who in (target, TEACHER):
        folder = layout.root.joinpath("attacks", *who.split("/"))
        for summary_path in sorted(folder.glob("*/summary.json")):
            summary = json.loads(summary_path.read_text())
            attacked, succeeded = int(summary["attacked"]), int(summary["succeeded"])
            low, high = proportion_interval(succeeded, attacked)
            row = {
                "attacked": attacked,
                "succeeded": succeeded,
                "asr": succeeded / attacked if attacked else None,
                "asr_interval": [low, high],
                "robust_accuracy": summary.get("robust_accuracy"),
                "mean_queries": summary.get("mean_queries"),
            }
            out.setdefault(summary_path.parent.name, {})["model" if who == target else TEACHER] = (
                row
            )
    return out


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _run_facts(layout: RunLayout) -> dict[str, Any]:
    """What the card says about the run: its ``results.json`` when the run has finished,
    else the same facts from the artifacts already there (config name, splits, teacher)."""
    import yaml

    results = _read_json(layout.results)
    if not results.get("name") and layout.config.is_file():
        results["name"] = (yaml.safe_load(layout.config.read_text()) or {}).get("name")
    if not results.get("dataset") and layout.data_splits.is_file():
        results["dataset"] = _read_json(layout.data_splits)
    if not results.get(TEACHER):
        results[TEACHER] = _read_json(layout.metrics(TEACHER)).get("test", {})
    return results


def build_card(inputs: CardInputs, out: Path) -> dict[str, Any]:
    """Export, choose the threshold, measure, write ``out/{model.int8.onnx, card.json,
    README.md}`` atomically; returns the card."""
    from moekd.deploy.onnx_classifier import OnnxClassifier
    from moekd.deploy.onnx_export import export_onnx, set_metadata

    layout = RunLayout(inputs.run)
    folder = layout.model(inputs.student)
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder}: no trained student there (is the run's students stage done?)")
    results = _run_facts(layout)
    valid = load_samples(inputs.valid)
    test = load_samples(inputs.test)
    with tempfile.TemporaryDirectory() as scratch:
        exported = export_onnx(folder, Path(scratch) / "model.onnx", int8=True)
        assert exported.int8_path is not None
        classifier = OnnxClassifier.load(exported.int8_path)
        valid_scores = _scores(classifier, valid, inputs.windowed, "validation")
        threshold = threshold_for_precision(labels_of(valid), valid_scores, inputs.precision)
        test_scores = _scores(classifier, test, inputs.windowed, "test")
        first_window = test_scores
        if inputs.windowed:
            first_window = _scores(classifier, test, False, "test, first window")
        set_metadata(
            exported.int8_path,
            {
                "moekd.threshold": repr(threshold.value),
                "moekd.labels": ",".join(LABELS),
                "moekd.name": inputs.name,
            },
        )
        size_mb = exported.int8_path.stat().st_size / 1e6
        if size_mb > MAX_MB:
            raise UserError(f"{folder}: the INT8 export is {size_mb:.2f} MB, over {MAX_MB} MB")
        scores = {"scan": test_scores, "first_window": first_window}
        card = _card(inputs, layout, results, classifier, threshold, test, scores, size_mb)
        with atomic_dir(out) as tmp:
            shutil.copyfile(exported.int8_path, tmp / MODEL_FILE)
            (tmp / "card.json").write_text(json_text(card), encoding="utf-8")
            (tmp / "README.md").write_text(render_card(card), encoding="utf-8")
    return card


def _card(
    inputs: CardInputs,
    layout: RunLayout,
    results: dict[str, Any],
    classifier: Any,
    threshold: Threshold,
    test: list[CodeSample],
    scores: dict[str, np.ndarray],
    size_mb: float,
) -> dict[str, Any]:
    labels = labels_of(test)
    scan = scores["scan"]
    return {
        "name": inputs.name,
        "student": inputs.student,
        "run": results.get("name"),
        "labels": list(LABELS),
        "file": MODEL_FILE,
        "size_mb": round(size_mb, 3),
        "params": int(classifier.metadata.get("moekd.params", 0)) or None,
        "max_length": classifier.max_length,
        "canonical_identifiers": classifier.canonical,
        "data": {
            "source": results.get("dataset", {}).get("source"),
            "splits": results.get("dataset", {}).get("splits"),
            "valid": str(inputs.valid),
            "test": str(inputs.test),
        },
        "scoring": "windows" if inputs.windowed else "first_window",
        "threshold": threshold.to_dict(),
        "test": {
            "at_0.5": _with_interval(classification_metrics(labels, scan >= 0.5)),
            "at_threshold": _with_interval(classification_metrics(labels, scan >= threshold.value)),
            "first_window_at_0.5": _with_interval(
                classification_metrics(labels, scores["first_window"] >= 0.5)
            ),
        },
        "calibration": reliability(labels, scan),
        "robustness": _robustness(layout, inputs.student),
        "attack_setup": results.get("attack_setup"),
        "references": results.get("references"),
        "teacher": {k: results.get(TEACHER, {}).get(k) for k in ("accuracy", "f1", "size_mb")},
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _interval(pair: list[float]) -> str:
    return f"{100 * pair[0]:.1f}-{100 * pair[1]:.1f}%"


def _metrics_row(label: str, m: dict[str, Any]) -> str:
    return (
        f"| {label} | {_pct(m['accuracy'])} ({_interval(m['accuracy_interval'])}) | "
        f"{_pct(m['precision'])} | {_pct(m['recall'])} | {_pct(m['f1'])} |"
    )


def _robustness_lines(card: dict[str, Any]) -> list[str]:
    rows = card["robustness"]
    if not rows:
        return ["No attack of this student is recorded in its run."]
    setup = card.get("attack_setup") or {}
    budgets = setup.get("budgets", {})
    lines = [
        f"Attacked on the run's attack set ({setup.get('functions', '?')} test functions; a "
        "function counts when the model classifies it correctly and the attack can change "
        "something). ASR: the share whose label the attack flipped (lower is more robust), "
        "with its 95% Wilson interval; the teacher's beside it.",
        "",
        "| Attack | Queries | ASR (this model) | ASR (teacher) |",
        "|---|---|---|---|",
    ]
    for attack, pair in rows.items():
        cells = []
        for who in ("model", TEACHER):
            row = pair.get(who)
            cells.append(
                "–"
                if row is None or row["asr"] is None
                else f"{_pct(row['asr'])} ({row['succeeded']}/{row['attacked']}; "
                f"{_interval(row['asr_interval'])})"
            )
        lines.append(f"| {attack} | {budgets.get(attack, '?')} | {cells[0]} | {cells[1]} |")
    return lines


def render_card(card: dict[str, Any]) -> str:
    """The model card as Hugging Face README markdown (YAML front matter, then sections)."""
    t = card["threshold"]
    cal = card["calibration"]
    test = card["test"]
    splits = card["data"].get("splits") or {}
    split_rows = [
        f"| {name} | {s['n']} | {_pct(s['vulnerable_fraction'])} | `{s['sha256'][:12]}` |"
        for name, s in splits.items()
    ]
    teacher = card["teacher"]
    canonical = card["canonical_identifiers"]
    reliability_rows = [
        f"| {b['low']:.1f}-{b['high']:.1f} | {b['count']} | {_number(b['mean_predicted'])} | "
        f"{_number(b['observed'])} |"
        for b in cal["bins"]
    ]
    lines = [
        "---",
        "license: apache-2.0",
        "library_name: onnxruntime",
        "pipeline_tag: text-classification",
        "tags: [vulnerability-detection, c, knowledge-distillation, moekd, onnx, int8]",
        "datasets: [devign]",
        "metrics: [accuracy, precision, recall, f1]",
        "---",
        "",
        f"# {card['name']}",
        "",
        f"A {card['size_mb']:.2f} MB INT8 ONNX classifier of C functions (labels: "
        f"`{card['labels'][0]}`, `{card['labels'][1]}`), the student `{card['student']}` of the "
        f"moekd run `{card['run']}`, distilled by the project's own pipeline. "
        f"{card['params'] or '?'} parameters; it reads at most {card['max_length']} tokens at a "
        "time"
        + (", local identifiers renamed to canonical names first" if canonical else "")
        + ". `moekd scan` scores a longer function over overlapping windows of whole lines and "
        "reports the highest window's score; "
        + (
            "the figures below are scored the same way, except the last row of the test table "
            "(the first window only, as training and the run's tables read a function)."
            if card["scoring"] == "windows"
            else "the figures below read only each function's first window."
        ),
        "",
        "## What it cannot do",
        "",
        "- It was trained and measured on Devign (FFmpeg and QEMU functions, labels from "
        "vulnerability-fixing commits, with label noise). Detectors trained on one such dataset "
        "transfer poorly to other projects: expect lower precision on your code than below.",
        "- Its accuracy is far from a static analyser's precision: treat a finding as a place to "
        "look, never as proof, and a clean scan as no evidence of safety.",
        "- It sees one function at a time: no inter-procedural context, no macros' expansions, "
        "no build configuration.",
        "",
        "## Data",
        "",
        f"Source: `{Path(str(card['data'].get('source'))).name}`. The threshold was chosen on "
        f"`{card['data']['valid']}`; the test figures are on `{card['data']['test']}`.",
        "",
        "| Split | N | Vulnerable | sha256 |",
        "|---|---|---|---|",
        *split_rows,
        "",
        "## Test accuracy (this INT8 file)",
        "",
        f"n = {test['at_0.5']['n']}; accuracy with its 95% Wilson interval.",
        "",
        "| Operating point | Accuracy | Precision | Recall | F1 |",
        "|---|---|---|---|---|",
        _metrics_row("p >= 0.5", test["at_0.5"]),
        _metrics_row(f"p >= {t['value']:.3f} (shipped)", test["at_threshold"]),
        _metrics_row("first window only, p >= 0.5", test["first_window_at_0.5"]),
        "",
        f"The teacher of the run: accuracy {_pct(teacher.get('accuracy'))}, F1 "
        f"{_pct(teacher.get('f1'))}, {teacher.get('size_mb') or '?'} MB.",
        "",
        "## Operating threshold",
        "",
        f"`moekd scan` reports p(vulnerable) >= {t['value']:.4f} by default (stored in the "
        f"file's metadata as `moekd.threshold`; `--threshold` overrides it): the lowest score at "
        f"which the flagged validation functions reach precision {t['target_precision']:.2f} "
        f"(validation: precision {_pct(t['validation_precision'])}, recall "
        f"{_pct(t['validation_recall'])}, {t['validation_flagged']} of {t['validation_n']} "
        "flagged).",
        "",
        "## Calibration (test)",
        "",
        f"Expected calibration error {cal['ece']:.3f} over ten equal-width bins, Brier score "
        f"{cal['brier']:.3f}.",
        "",
        "| p(vulnerable) | Functions | Mean p | Vulnerable fraction |",
        "|---|---|---|---|",
        *reliability_rows,
        "",
        "## Robustness",
        "",
        *_robustness_lines(card),
        "",
        "## Reproduce",
        "",
        f"`moekd run {card['run']} --out RUN`, then `moekd package-model RUN --student "
        f"{card['student']} --valid {card['data']['valid']} --test {card['data']['test']} "
        f"--precision {t['target_precision']}`. Every figure here is in `card.json`.",
        "",
    ]
    return "\n".join(lines)


def write_card_readme(folder: Path) -> None:
    """Re-render ``README.md`` from ``card.json`` (after editing the renderer)."""
    card = json.loads((folder / "card.json").read_text())
    atomic_write_text(folder / "README.md", render_card(card))
