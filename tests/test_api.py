"""The Python API (`moekd.scan`, `moekd.load_classifier`, `moekd.run`): the CLI's behaviour
from a notebook, and `import moekd` that loads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_config, toy_samples, write_jsonl
from scan_fakes import WordClassifier, long_function

import moekd
import moekd.deploy.loading as loading
from moekd.deploy import default_model
from moekd.errors import UserError

VULN = "int vuln(char *s) {\n    char b[4];\n    strcpy(b, s);\n    return 0;\n}\n"
MAYBE = "int maybe_ok(int n) {\n    return n;\n}\n"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WordClassifier:
    model = WordClassifier()
    (tmp_path / "model.onnx").write_bytes(b"fake weights")
    monkeypatch.setattr(loading, "load_classifier", lambda *a, **k: model)
    return model


def test_import_moekd_loads_no_heavy_module() -> None:
    code = (
        "import sys, moekd; assert callable(moekd.scan); "
        "print(sorted(m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_scan_ranks_whole_functions_and_caches(fake: WordClassifier, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.c").write_text(MAYBE + long_function("big", 80, flaw_at=60) + VULN)
    result = moekd.scan(src, tmp_path / "model.onnx")
    assert [f.function for f in result.findings] == ["big", "vuln", "maybe_ok"]
    assert result.findings[0].probability >= result.findings[-1].probability
    assert result.windowed_functions == 1  # the long one, scored over its windows
    calls = fake.calls
    again = moekd.scan([src / "a.c"], tmp_path / "model.onnx", threshold=0.9)
    assert fake.calls == calls and again.cached_functions == 3
    assert [f.function for f in again.findings] == ["big", "vuln"]


def test_without_a_model_the_shipped_one_or_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(default_model, "DEFAULT_MODEL", tmp_path / "none.onnx")
    with pytest.raises(UserError, match="ships no default model"):
        moekd.load_classifier()
    model = WordClassifier()
    seen: list[str] = []
    monkeypatch.setattr(loading, "load_classifier", lambda src, *a, **k: seen.append(src) or model)
    (tmp_path / "none.onnx").write_bytes(b"x")
    assert moekd.load_classifier() is model and seen == [tmp_path / "none.onnx"]


def test_run_is_the_pipeline(tmp_path: Path) -> None:
    data = write_jsonl(toy_samples(80), tmp_path / "toy.jsonl")
    config = tmp_path / "tiny.yaml"
    config.write_text(tiny_config(data, epochs=1))
    root = moekd.run(config, tmp_path / "run", until="teacher")
    assert (root / "teacher" / "config.json").is_file()
    assert json.loads((root / "data_splits.json").read_text())["splits"]["train"]["n"] > 0
