"""Bad input found by new users: one line naming the file and the problem, exit code 2, no
traceback, and before any long work starts. The CLI runs in-process through ``cli.main``."""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path

import pytest
from conftest import toy_samples, write_jsonl

from moekd import cli
from moekd.config import load_config
from moekd.config.experiment import DataConfig
from moekd.data.loaders import load_hub, load_samples
from moekd.data.prepare import prepare_splits
from moekd.data.samples import CodeSample
from moekd.deploy.onnx_export import ExportResult
from moekd.errors import ConfigError, DataError, UserError


@pytest.fixture
def moekd(capsys, monkeypatch):
    """Run ``moekd ARGS`` through ``cli.main``; returns (exit code, stdout + stderr)."""

    def invoke(*args: object) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["moekd", *map(str, args)])
        with pytest.raises(SystemExit) as exc:
            cli.main()
        captured = capsys.readouterr()
        return exc.value.code, captured.out + captured.err

    return invoke


def one_error(code: int, output: str, *needles: str) -> str:
    """Exit code 2, one non-empty line of output that contains every needle, no traceback."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2, output
    assert len(lines) == 1 and "Traceback" not in output, output
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], output
    return lines[0]


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    """A data file, a model folder (never loaded: the checks come first), a C file, a file."""
    model = tmp_path / "model"
    model.mkdir()
    (tmp_path / "a.c").write_text("int f(void) { return 0; }\n")
    (tmp_path / "plain").write_text("x")
    return {
        "data": write_jsonl(toy_samples(4), tmp_path / "d.jsonl"),
        "model": model,
        "c": tmp_path / "a.c",
        "file": tmp_path / "plain",
    }


# ---- 1. output paths are checked before the work ----------------------------------------------
FILE_OUTPUTS = {
    "scan": lambda p, out: ["scan", p["c"], "--model", p["model"], "-o", out],
    "evaluate": lambda p, out: [
        "evaluate",
        "--model",
        p["model"],
        "--data",
        p["data"],
        "--out",
        out,
    ],
    "attack": lambda p, out: [
        "attack",
        "--model",
        p["model"],
        "--data",
        p["data"],
        "--attack",
        "mhm",
        "--out",
        out,
    ],
    "export": lambda p, out: ["export", "--model", p["model"], "--out", out],
}


@pytest.mark.parametrize("command", FILE_OUTPUTS)
def test_output_file_under_a_file(moekd, paths, command: str) -> None:
    out = paths["file"] / "report.onnx"
    one_error(*moekd(*FILE_OUTPUTS[command](paths, out)), str(out), "is not a folder")


@pytest.mark.parametrize("command", FILE_OUTPUTS)
def test_output_file_that_is_a_folder(moekd, paths, tmp_path: Path, command: str) -> None:
    out = tmp_path / "taken.onnx"
    out.mkdir()
    one_error(*moekd(*FILE_OUTPUTS[command](paths, out)), str(out), "is a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_file_in_an_unwritable_folder(moekd, paths, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    out = locked / "m.json"
    one_error(*moekd(*FILE_OUTPUTS["evaluate"](paths, out)), str(out), "not writable")


@pytest.mark.parametrize(
    "args", [["demo"], ["run", "demo"], ["pretrain", "demo"], ["train-teacher", "demo"]]
)
def test_run_directory_that_is_a_file(moekd, paths, args: list[str]) -> None:
    one_error(*moekd(*args, "--out", paths["file"]), str(paths["file"]), "is a file")
    one_error(*moekd(*args, "--out", paths["file"] / "run"), "is not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_run_directory_in_an_unwritable_folder(moekd, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    one_error(*moekd("run", "demo", "--out", locked / "run"), "not writable")


# ---- 2. configs that are not text ---------------------------------------------------------------
def test_config_not_utf8_or_a_folder(moekd, tmp_path: Path) -> None:
    binary = tmp_path / "bad.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    one_error(*moekd("run", binary, "--out", tmp_path / "run"), str(binary), "not UTF-8")
    one_error(*moekd("run", tmp_path, "--out", tmp_path / "run"), str(tmp_path), "is a folder")
    assert not (tmp_path / "run").exists()


# ---- 3. train/valid/test that share functions --------------------------------------------------
def test_overlapping_splits_are_counted_and_warned(tmp_path: Path, capsys) -> None:
    samples = toy_samples(60)
    train, valid, test = samples[:40], samples[40:50], samples[50:]
    valid[0] = CodeSample(idx="v0", code="  " + train[0].code + "\n", label=0)
    test[0] = CodeSample(idx="t0", code=train[1].code, label=1)
    test[1] = CodeSample(idx="t1", code=train[2].code, label=0)
    test[2] = CodeSample(idx="t2", code=valid[1].code, label=1)
    named = {"train": train, "valid": valid, "test": test}
    files = {n: write_jsonl(s, tmp_path / f"{n}.jsonl") for n, s in named.items()}
    cfg = DataConfig(source="files", **{n: str(p) for n, p in files.items()})
    splits = prepare_splits(cfg)
    assert splits.summary()["overlap"] == {"train_valid": 1, "train_test": 2, "valid_test": 1}
    assert [s.idx for s in splits.test] == [s.idx for s in test]  # splits as they were
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "train/valid: 1, train/test: 2, valid/test: 1" in err[0]


def test_clean_splits_have_no_overlap_key(tmp_path: Path, capsys) -> None:
    samples = toy_samples(60)
    train = write_jsonl(samples, tmp_path / "train.jsonl")
    summary = prepare_splits(DataConfig(source="files", train=str(train))).summary()
    assert "overlap" not in summary and capsys.readouterr().err == ""


def test_unknown_synthetic_family_is_a_config_error() -> None:
    cfg = DataConfig(synthetic_size=40, synthetic_families=["signed_length", "heap_spray"])
    with pytest.raises(ConfigError, match="data.synthetic_families: unknown heap_spray"):
        prepare_splits(cfg)


# ---- 4. a FIFO as data ---------------------------------------------------------------------------
def test_fifo_data_is_refused_without_blocking(moekd, paths, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        load_samples(fifo)
    args = ("evaluate", "--model", paths["model"], "--data", fifo)
    one_error(*moekd(*args), str(fifo), "not a regular file")


# ---- 5. batch sizes ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["evaluate", "scan", "attack"])
def test_batch_size_zero(moekd, paths, command: str) -> None:
    args = {
        "evaluate": ["evaluate", "--model", paths["model"], "--data", paths["data"]],
        "scan": ["scan", paths["c"], "--model", paths["model"]],
        "attack": ["attack", "--model", paths["model"], "--data", paths["data"]],
    }[command]
    one_error(*moekd(*args, "--batch-size", "0"), "--batch-size", f"moekd {command} --help")


# ---- 6. export ---------------------------------------------------------------------------------
def test_export_missing_model_names_it(moekd, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    line = one_error(*moekd("export", "--model", missing), str(missing), "no such model folder")
    assert "--out" not in line


def test_export_default_out(moekd, monkeypatch, paths, tmp_path: Path) -> None:
    written: list[Path] = []

    def fake_export(model, out, int8=False, optimize=True):
        written.append(Path(out))
        return ExportResult(Path(out), None, 0.0, 0)

    monkeypatch.setattr("moekd.deploy.onnx_export.export_onnx", fake_export)
    monkeypatch.chdir(tmp_path)
    assert moekd("export", "--model", paths["model"])[0] == 0
    assert moekd("export", "--model", "someone/tiny-bert")[0] == 0
    assert written == [paths["model"] / "model.onnx", Path("tiny-bert.onnx")]


# ---- 7. attacks offline -----------------------------------------------------------------------
def test_attack_offline_hub_mlm_fails_at_once(moekd, monkeypatch, paths) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    args = ("attack", "--model", paths["model"], "--data", paths["data"], "--attack", "alert")
    code, output = moekd(*args, "--mlm", "nobody-moekd/not-cached-mlm")
    assert time.monotonic() - start < 10
    one_error(code, output, "nobody-moekd/not-cached-mlm", "network", "--mlm RUN/pretrain")


def test_attack_unreachable_hub_model_fails_at_once(moekd, monkeypatch, paths) -> None:
    def refuse(*args, **kwargs):
        raise OSError("unreachable")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("moekd.models.hub.socket.create_connection", refuse)
    args = ("attack", "--model", "nobody-moekd/not-cached-model", "--data", paths["data"])
    one_error(*moekd(*args, "--attack", "mhm"), "nobody-moekd/not-cached-model", "--model RUN/")


def test_attack_alert_offline_without_mlm_names_the_local_choice(paths, tmp_path: Path) -> None:
    """The default MLM is a hub id: offline, with nothing cached (an empty HF_HOME), one line
    at once instead of a minute of retries (a fresh interpreter: the hub reads its settings at
    import)."""
    from conftest import run_cli

    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hf-home")}
    args = ("attack", "--model", paths["model"], "--data", paths["data"], "--attack", "alert")
    start = time.monotonic()
    done = run_cli(*map(str, args), env=env, timeout=120)
    assert time.monotonic() - start < 30
    line = one_error(done.returncode, done.stdout + done.stderr, "microsoft/codebert-base-mlm")
    assert "HF_HUB_OFFLINE" in line and "pass --mlm RUN/pretrain" in line


@pytest.fixture
def offline_hub(monkeypatch, tmp_path: Path) -> None:
    """HF_HUB_OFFLINE=1 and an empty hub cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))


def test_evaluate_offline_hub_model_fails_at_once(moekd, offline_hub, paths) -> None:
    start = time.monotonic()
    args = ("evaluate", "--model", "microsoft/codebert-base", "--data", paths["data"])
    code, output = moekd(*args)
    assert time.monotonic() - start < 10
    one_error(code, output, "microsoft/codebert-base", "needs the network or a local copy")


def test_run_with_an_offline_hub_teacher_names_the_model(moekd, offline_hub, tmp_path) -> None:
    """The pipeline reaches the hub through the same loaders: one line at the teacher."""
    data = write_jsonl(toy_samples(60), tmp_path / "toy.jsonl")
    config = tmp_path / "hub.yaml"
    config.write_text(f"data: {{source: files, train: {data}}}\nteacher: {{preset: codebert}}\n")
    code, output = moekd("run", config, "--out", tmp_path / "run", "--until", "teacher")
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert code == 2 and "Traceback" not in output, output
    assert len(errors) == 1 and "microsoft/codebert-base" in errors[0], output
    assert "HF_HUB_OFFLINE" in errors[0] and "a local copy" in errors[0]


def _hub_cache(root: Path, repo: str, files: list[str]) -> None:
    """A Hugging Face hub cache holding ``files`` of ``repo`` at revision main."""
    folder = root / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for name in files:
        (snapshot / name).write_text("{}")


def test_a_cached_config_without_weights_is_not_a_cached_model(monkeypatch, tmp_path: Path) -> None:
    from moekd.attacks.commands import _available_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    _hub_cache(tmp_path, "someone/half", ["config.json"])
    _hub_cache(tmp_path, "someone/whole", ["config.json", "model.safetensors"])
    _available_model("someone/whole", "masked-LM", "--mlm X")  # no error
    with pytest.raises(UserError, match="someone/half: not in the local Hugging Face cache"):
        _available_model("someone/half", "masked-LM", "--mlm X")


def test_attack_help_states_defaults() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(cli.app, ["attack", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "default: 500" in result.output and "default: alert" in result.output


# ---- 8. --data-root and $MOEKD_DATA_ROOT ---------------------------------------------------
@pytest.fixture
def rooted(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """A config that says ``data/train.jsonl``, the data under ``root/``, the cwd elsewhere."""
    (tmp_path / "cfg").mkdir()
    config = tmp_path / "cfg" / "x.yaml"
    config.write_text("data: {source: files, train: data/train.jsonl}\n")
    (tmp_path / "root" / "data").mkdir(parents=True)
    write_jsonl(toy_samples(20), tmp_path / "root" / "data" / "train.jsonl")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.delenv("MOEKD_DATA_ROOT", raising=False)
    return config, tmp_path / "root"


def test_data_root_option_and_environment(rooted, monkeypatch) -> None:
    config, root = rooted
    want = str(root / "data" / "train.jsonl")
    assert load_config(config, data_root=root, require_data=True).data.train == want
    monkeypatch.setenv("MOEKD_DATA_ROOT", str(root))
    assert load_config(config, require_data=True).data.train == want


def test_missing_data_names_paths_and_data_root(moekd, rooted, tmp_path: Path) -> None:
    config, _ = rooted
    with pytest.raises(ConfigError, match="--data-root"):
        load_config(config, require_data=True)
    line = one_error(*moekd("run", config, "--out", tmp_path / "run"), "data.train", "--data-root")
    assert str(tmp_path / "cfg" / "data" / "train.jsonl") in line
    assert str(tmp_path / "elsewhere" / "data" / "train.jsonl") in line
    args = ("run", config, "--data-root", tmp_path / "no", "--out", tmp_path / "r")
    one_error(*moekd(*args), "no such data root folder")
    assert not (tmp_path / "run").exists()


# ---- 9. hub datasets run no remote code ----------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "passed"), [("3.6.0", {"trust_remote_code": False}), ("4.1.0", {})]
)
def test_hub_datasets_never_trust_remote_code(monkeypatch, version: str, passed: dict) -> None:
    calls: list[dict] = []

    def load_dataset(name, split, **kwargs):
        calls.append(kwargs)
        return [{"func": "int f(void) { return 0; }", "target": 0, "idx": 0}]

    fake = types.SimpleNamespace(__version__=version, load_dataset=load_dataset)
    monkeypatch.setitem(sys.modules, "datasets", fake)
    assert [s.idx for s in load_hub("x/y", "test")] == ["0"]
    assert calls == [passed]


def test_attack_invalid_hub_id_is_one_line(moekd, paths) -> None:
    args = ("attack", "--model", "bad--id/x", "--data", paths["data"], "--attack", "mhm")
    one_error(*moekd(*args), "bad--id/x", "nor a valid hub id")
