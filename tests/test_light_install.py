"""`pip install moekd` without extras is the scanner alone: scanning with an ONNX model imports
neither torch nor transformers, and a command that needs the training stack says which extra to
install. A light install is simulated by blocking the training modules' imports in a fresh
interpreter (``sys.modules[name] = None`` makes ``import name`` fail as if it were absent)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import torch
from conftest import toy_samples

from moekd import cli
from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.deploy.onnx_export import export_onnx
from moekd.models.presets import ArchSpec
from moekd.training.finetune import scratch_classifier

#: What a light install lacks. pydantic is not blocked: typer depends on it.
ABSENT = sorted(cli.TRAINING_MODULES - {"pydantic"})
#: moekd modules that only the training stack can import.
TRAINING_PACKAGES = ("moekd.config", "moekd.models.classifier", "moekd.training", "moekd.stages")

_RUNNER = """
import json, sys
absent, report, argv = json.loads(sys.argv[1])
for name in absent:
    sys.modules[name] = None
sys.argv = ["moekd", *argv]
from moekd.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if sys.modules[m] is not None)
with open(report, "w") as f:
    json.dump({"code": code, "loaded": loaded}, f)
"""


def run_moekd(tmp_path: Path, *args: str, absent: list[str]) -> tuple[dict, str, str]:
    """``moekd ARGS`` in a fresh interpreter with ``absent`` modules blocked; returns its exit
    code and loaded modules, stdout and stderr."""
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps([absent, str(report), list(args)])],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert report.is_file(), proc.stderr
    return json.loads(report.read_text()), proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random student (torch weights and tokenizer) with its ``model.onnx`` beside it."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("student")
    codes = [s.code for s in toy_samples(40)]
    tok = train_bpe_tokenizer(codes, 300, 64)
    scratch_classifier(ArchSpec(300, 16, 1, 2, 32, 64), tok).eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    export_onnx(folder, folder / "model.onnx")
    return folder


@pytest.fixture
def c_file(tmp_path: Path) -> Path:
    path = tmp_path / "a.c"
    path.write_text(toy_samples(2)[1].code + toy_samples(2)[0].code)
    return path


def test_onnx_scan_imports_no_training_module(student: Path, c_file: Path, tmp_path: Path) -> None:
    args = ("scan", str(c_file), "--model", str(student / "model.onnx"), "-f", "json")
    run, out, err = run_moekd(tmp_path, *args, absent=[])
    assert run["code"] in (0, 1), err
    assert json.loads(out)["functions_scanned"] == 2
    loaded = {m.split(".")[0] for m in run["loaded"]}
    assert not loaded & cli.TRAINING_MODULES - {"pydantic"}, sorted(loaded)
    assert not [m for m in run["loaded"] if m.startswith(TRAINING_PACKAGES)]


def test_onnx_scan_works_without_the_training_stack(
    student: Path, c_file: Path, tmp_path: Path
) -> None:
    args = ("scan", str(c_file), "--model", str(student / "model.onnx"), "-f", "sarif")
    run, out, err = run_moekd(tmp_path, *args, absent=ABSENT)
    assert run["code"] in (0, 1), err
    assert "Traceback" not in err
    assert json.loads(out)["runs"][0]["tool"]["driver"]["name"] == "moekd"


@pytest.mark.parametrize(
    "command",
    [
        ("run", "demo", "--out", "run"),
        ("export", "--model", "{student}"),
        ("scan", "{c_file}", "--model", "{student}", "--backend", "torch"),
        ("evaluate", "--model", "{student}", "--data", "{c_file}"),
    ],
    ids=lambda c: c[0],
)
def test_training_commands_name_the_extra(
    command: tuple[str, ...], student: Path, c_file: Path, tmp_path: Path
) -> None:
    args = [a.format(student=student, c_file=c_file) for a in command]
    run, out, err = run_moekd(tmp_path, *args, absent=ABSENT)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert run["code"] == 2 and len(lines) == 1, out + err
    assert lines[0].startswith(f"error: moekd {command[0]}: needs the training extras (")
    assert lines[0].endswith("is not installed): pip install 'moekd[train]'")


def test_version(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["moekd", "--version"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"moekd {version('moekd')}\n"
