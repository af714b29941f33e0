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
from conftest import REPO, toy_samples

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


def test_action_scans_with_its_inputs(student: Path, c_file: Path, tmp_path: Path) -> None:
    """action.yml's scan step, run as GitHub runs it: inputs in the environment only."""
    import yaml

    action = yaml.safe_load((REPO / "action.yml").read_text())
    steps = action["runs"]["steps"]
    scripts = [step["run"] for step in steps if "run" in step]
    assert scripts and not [s for s in scripts if "${{" in s]  # no input pasted into a script
    install = next(s for s in steps if s.get("name", "").startswith("Install"))["run"]
    assert "[" not in install and "torch" not in install  # the light package, no extras
    scan = next(s for s in steps if s.get("id") == "scan")
    outputs = tmp_path / "github_output"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "GITHUB_OUTPUT": str(outputs),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the score cache: never the user's
        "INPUT_PATHS": "a.c b.c",
        "INPUT_MODEL": str(student / "model.onnx"),
        "INPUT_FORMAT": "sarif",
        "INPUT_OUTPUT": "out dir/moekd.sarif",  # a space must survive
        "INPUT_FAIL_ON": "warning",
        "INPUT_ARGS": "--threshold 0.001 --root .",  # every function becomes a finding
    }
    (tmp_path / "out dir").mkdir()
    (tmp_path / "b.c").write_text(toy_samples(3)[2].code)
    script = ["bash", "-c", scan["run"]]
    proc = subprocess.run(script, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # findings reach --fail-on warning
    report = json.loads((tmp_path / "out dir" / "moekd.sarif").read_text())
    assert len(report["runs"][0]["results"]) == 3  # both paths, every function
    assert outputs.read_text() == "report=out dir/moekd.sarif\n"
    assert set(action["inputs"]) >= {"paths", "model", "format", "fail-on", "args"}


def test_pre_commit_hook_installs_the_light_package() -> None:
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["moekd-scan"]
    assert hook["language"] == "python" and hook["entry"] == "moekd scan"
    assert "additional_dependencies" not in hook and hook["types"] == ["c"]


def _scan_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["moekd", "scan", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


def test_scan_without_a_model_uses_the_shipped_detector(
    student: Path,
    c_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    from moekd.deploy import default_model

    monkeypatch.chdir(tmp_path)  # no pyproject.toml with [tool.moekd] above it
    monkeypatch.setattr(default_model, "DEFAULT_MODEL", student / "model.onnx")
    code, out, _ = _scan_in_process(monkeypatch, capsys, str(c_file), "-f", "json")
    assert code in (0, 1)
    assert json.loads(out)["model"]["name"] == "model.onnx"
    assert json.loads(out)["summary"]["functions_scanned"] == 2

    monkeypatch.setattr(default_model, "DEFAULT_MODEL", tmp_path / "absent.onnx")
    code, out, err = _scan_in_process(monkeypatch, capsys, str(c_file))
    assert code == 2 and out == ""
    assert "pass --model MODEL" in err and "ships no default model" in err


def test_action_without_a_model_scans_with_the_shipped_one(c_file: Path, tmp_path: Path) -> None:
    import yaml

    from moekd.deploy.default_model import DEFAULT_MODEL

    if not DEFAULT_MODEL.is_file():
        pytest.skip(f"no packaged model at {DEFAULT_MODEL} (model files are never committed)")

    action = yaml.safe_load((REPO / "action.yml").read_text())
    scan = next(s for s in action["runs"]["steps"] if s.get("id") == "scan")
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "INPUT_PATHS": c_file.name,
        "INPUT_MODEL": "",
        "INPUT_FORMAT": "json",
        "INPUT_OUTPUT": "report.json",
        "INPUT_FAIL_ON": "never",
        "INPUT_ARGS": "",
    }
    proc = subprocess.run(
        ["bash", "-c", scan["run"]], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"]["name"] == "model.int8.onnx"
    assert report["summary"]["functions_scanned"] == 2
