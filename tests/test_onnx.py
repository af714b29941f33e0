"""ONNX export (fp32 + dynamic INT8), the ONNX classifier, and the one loader for both backends.

The INT8 check uses a tiny student trained for 40 steps on the toy strcpy/strncpy task, so it
is confident on held-out toy functions: agreement there shows quantisation keeps the decisions
of a model that has learned something, not how INT8 behaves near p = 0.5 (the speed bench
reports that on real students).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from conftest import toy_samples, train_toy_student

from moekd.cli import main
from moekd.data.synthetic import generate_corpus
from moekd.deploy import onnx_export
from moekd.deploy.loading import load_classifier, model_info
from moekd.deploy.onnx_classifier import OnnxClassifier
from moekd.errors import UserError
from moekd.models.classifier import HFClassifier

MAX_LEN = 128


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["moekd", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A trained two-layer student, exported by ``moekd export --int8`` into its folder."""
    folder = train_toy_student(tmp_path_factory.mktemp("student"), MAX_LEN)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two shared cores: spinning torch threads would crawl
    with pytest.MonkeyPatch.context() as mp:
        assert run_main(mp, "export", "--model", str(folder), "--int8") == 0
    yield folder
    torch.set_num_threads(threads)


def _mixed_codes(n: int = 200) -> list[str]:
    """Short toy functions and long synthetic ones (some truncated at MAX_LEN): mixed padding."""
    toy = [s.code for s in toy_samples(n // 2, seed=3)]
    synthetic = [s.code for s in generate_corpus(n - n // 2, seed=3)]
    return [c for pair in zip(toy, synthetic, strict=True) for c in pair]


def test_export_writes_fused_fp32_and_int8(model_dir: Path) -> None:
    fp32, int8 = model_dir / "model.onnx", model_dir / "model.int8.onnx"
    assert fp32.is_file() and int8.is_file()
    assert not list(model_dir.glob(".*.tmp")), "temp files left behind"
    ops32 = {n.op_type for n in onnx.load(str(fp32)).graph.node}
    ops8 = {n.op_type for n in onnx.load(str(int8)).graph.node}
    assert "Attention" in ops32 and "QAttention" in ops8 and "MatMulInteger" in ops8
    meta = {e.key: e.value for e in onnx.load(str(int8)).metadata_props}
    assert meta["moekd.precision"] == "int8" and meta["moekd.max_length"] == str(MAX_LEN)
    inputs = onnx.load(str(fp32)).graph.input
    dims = [[d.dim_param for d in i.type.tensor_type.shape.dim] for i in inputs]
    assert dims == [["batch", "sequence"], ["batch", "sequence"]]  # dynamic batch and length


def test_fp32_matches_torch(model_dir: Path) -> None:
    codes = _mixed_codes()
    torch_p = load_classifier(model_dir, "torch", batch_size=16).predict_proba(codes)
    onnx_clf = load_classifier(model_dir, "onnx", batch_size=16)
    assert isinstance(onnx_clf, OnnxClassifier) and onnx_clf.precision == "fp32"
    onnx_p = onnx_clf.predict_proba(codes)
    assert onnx_p.shape == (200, 2)
    assert float(np.abs(onnx_p - torch_p).max()) < 1e-4


def test_int8_keeps_labels(model_dir: Path) -> None:
    held_out = toy_samples(200, seed=1)
    codes, labels = [s.code for s in held_out], np.array([s.label for s in held_out])
    torch_label = load_classifier(model_dir, "torch").predict_proba(codes).argmax(1)
    int8_label = load_classifier(model_dir, "onnx-int8").predict_proba(codes).argmax(1)
    assert (torch_label == labels).mean() >= 0.9 and len(set(torch_label)) == 2  # not constant
    assert (int8_label == torch_label).mean() >= 0.99


def test_onnx_file_alone_is_a_model(model_dir: Path, tmp_path: Path) -> None:
    """The export stores the tokenizer in the file: no folder needed beside it."""
    shutil.copy(model_dir / "model.int8.onnx", tmp_path / "model.int8.onnx")
    codes = _mixed_codes(20)
    expected = load_classifier(model_dir, "onnx-int8").predict_proba(codes)
    for source in (tmp_path, tmp_path / "model.int8.onnx"):
        clf = load_classifier(source)  # auto: no torch weights, no fp32 -> int8
        np.testing.assert_allclose(clf.predict_proba(codes), expected, atol=1e-6)
    info = model_info(clf, tmp_path / "model.int8.onnx")
    assert (info.backend, info.precision) == ("onnx", "int8")
    assert info.params == model_info(load_classifier(model_dir), model_dir).params
    assert isinstance(load_classifier(model_dir), HFClassifier)  # auto prefers torch weights


def test_loader_refuses_what_cannot_work(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot run on the torch backend"):
        load_classifier(model_dir / "model.onnx", "torch")
    with pytest.raises(UserError, match="no model.int8.onnx"):
        load_classifier(tmp_path, "onnx-int8")
    with pytest.raises(UserError, match="need a local folder"):
        load_classifier("someone/some-model", "onnx")
    with pytest.raises(UserError, match="no such model folder"):
        load_classifier("./missing-model")
    with pytest.raises(UserError, match="unknown backend"):
        load_classifier(model_dir, "tflite")


def test_plain_graph_and_failed_export_leaves_nothing(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = onnx_export.export_onnx(model_dir, tmp_path / "plain.onnx", optimize=False)
    assert plain.fused_attention == 0 and plain.max_abs_logit_diff < 1e-4
    domains = {n.domain for n in onnx.load(str(plain.onnx_path)).graph.node}
    assert domains <= {"", "ai.onnx"}  # standard opset only, no onnxruntime contrib ops

    def broken(*_args: object) -> float:
        raise RuntimeError("graph differs")

    monkeypatch.setattr(onnx_export, "_verify", broken)
    with pytest.raises(RuntimeError):
        onnx_export.export_onnx(model_dir, tmp_path / "bad.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.onnx"]
    monkeypatch.undo()
    assert run_main(monkeypatch, "export", "--model", str(model_dir), "--out", "x.txt") == 2


def test_scan_runs_on_the_int8_model(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "a.c").write_text(toy_samples(2)[1].code + toy_samples(2)[0].code)
    monkeypatch.chdir(tmp_path)
    args = ("scan", "a.c", "--model", str(model_dir), "--backend", "onnx-int8", "-f", "json")
    assert run_main(monkeypatch, *args) == 1  # the strcpy twin is flagged
    out = capsys.readouterr().out
    import json

    data = json.loads(out)
    assert data["model"]["precision"] == "int8" and data["functions_scanned"] == 2
    assert [f["function"] for f in data["findings"]] == ["f1"]


def test_evaluating_the_int8_model_keeps_the_precision_metric(model_dir: Path) -> None:
    """The weights' precision has its own key: ``precision`` stays the classification metric."""
    from moekd.evaluation.evaluate import measure_folder
    from moekd.evaluation.schema import ModelMetrics

    samples = toy_samples(40, seed=9)
    metrics, _ = measure_folder(model_dir, samples, MAX_LEN, backend="onnx-int8")
    assert metrics["model_precision"] == "int8" and metrics["backend"] == "onnx"
    assert isinstance(metrics["precision"], float) and 0 <= metrics["precision"] <= 1
    ModelMetrics.model_validate(metrics)  # the results schema knows every key


def test_moekd_evaluate_on_onnx_int8_prints_the_precision_metric(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The bug: ``moekd evaluate --backend onnx-int8`` printed ``"precision": "int8"``."""
    import json

    from conftest import write_jsonl

    data = write_jsonl(toy_samples(20, seed=5), tmp_path / "d.jsonl")
    args = ("evaluate", "--model", str(model_dir), "--data", str(data), "--backend", "onnx-int8")
    assert run_main(monkeypatch, *args, "--out", str(tmp_path / "m.json")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / "m.json").read_text())
    assert isinstance(printed["precision"], float) and printed["model_precision"] == "int8"
