"""The training loop: it learns, it resumes exactly after kill -9, and it runs on 2 processes."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_cli, tiny_config, toy_samples, write_jsonl

import moekd.progress as live_progress
from moekd.config import TrainSettings
from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.models.presets import TEACHERS
from moekd.progress import QUIET_ENV
from moekd.training.finetune import finetune_classifier, scratch_classifier


def test_tiny_model_learns_separable_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(QUIET_ENV, raising=False)
    monkeypatch.setattr(live_progress, "REPORT_EVERY_S", 0.0)  # stderr is not a terminal here
    samples = toy_samples(200)
    tok = train_bpe_tokenizer([s.code for s in samples], 300, 128)
    model = scratch_classifier(TEACHERS["scratch-tiny"].arch, tok)  # type: ignore[arg-type]
    settings = TrainSettings(epochs=6, batch_size=8, lr=2e-3, checkpoint_every=10, seed=0)
    result = finetune_classifier(model, tok, samples[:160], samples[160:], settings, tmp_path, 128)
    assert result.best_metrics["accuracy"] >= 0.9
    assert (tmp_path / "best" / "model.safetensors").exists()
    assert (tmp_path / "train_result.json").exists() and not (tmp_path / "checkpoints").exists()
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert sum("eval" in r for r in log) == result.epochs_run
    line = r": (\d+)/120 steps, loss \d+\.\d{4}, [\d.]+ ex/s, \d+:\d\d elapsed"
    steps = re.findall(line, capsys.readouterr().err)
    assert [int(n) for n in steps] == list(range(1, 121))  # a plain line a step (nohup, CI)
    # A finished stage is not trained again.
    again = finetune_classifier(model, tok, samples[:160], samples[160:], settings, tmp_path, 128)
    assert again.best_metrics == result.best_metrics


def _teacher_metrics(run: Path) -> dict:
    return json.loads((run / "teacher" / "metrics.json").read_text())


@pytest.mark.slow
def test_kill_9_then_rerun_resumes_to_the_same_result(tmp_path: Path) -> None:
    data = write_jsonl(toy_samples(400), tmp_path / "toy.jsonl")
    config = tmp_path / "tiny.yaml"
    config.write_text(tiny_config(data, epochs=4))

    straight = tmp_path / "straight"
    done = run_cli("train-teacher", str(config), "--out", str(straight))
    assert done.returncode == 0, done.stderr

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moekd", "train-teacher", str(config), "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    latest = killed / "work" / "teacher" / "checkpoints" / "latest"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if latest.exists() and latest.read_text().strip() >= "step-0000060":
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not (killed / "teacher").exists()
    resumed_from = latest.read_text().strip()

    again = run_cli("train-teacher", str(config), "--out", str(killed))
    assert again.returncode == 0, again.stderr
    log = (killed / "work" / "teacher" / "log.jsonl").read_text()
    assert f'"resumed_from": "{resumed_from}"' in log
    a, b = _teacher_metrics(straight), _teacher_metrics(killed)
    assert a["train_result"]["steps"] == b["train_result"]["steps"]
    for split in ("valid", "test"):
        for key in ("accuracy", "precision", "recall", "f1"):
            assert a[split][key] == b[split][key], (split, key)
    assert a["valid"]["loss"] == pytest.approx(b["valid"]["loss"], abs=1e-6)


def _losses(run: Path) -> dict[int, float]:
    rows = [
        json.loads(x) for x in (run / "work" / "teacher" / "log.jsonl").read_text().splitlines()
    ]
    return {r["step"]: r["loss"] for r in rows if "loss" in r and "eval" not in r}


@pytest.mark.slow
def test_two_processes_match_one_at_equal_global_batch(tmp_path: Path) -> None:
    if shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the accelerate launcher is not installed beside this interpreter")
    data = write_jsonl(toy_samples(160), tmp_path / "toy.jsonl")
    config = tmp_path / "tiny.yaml"
    # No dropout: the two runs then compute the same function and differ only by float sums.
    config.write_text(tiny_config(data, epochs=2, dropout=0.0))
    one = run_cli("train-teacher", str(config), "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    launcher = Path(sys.executable).parent / "accelerate"
    two = subprocess.run(
        [
            str(launcher),
            "launch",
            "--cpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "-m",
            "moekd",
            "train-teacher",
            str(config),
            "--out",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert a.keys() == b.keys() and len(a) >= 10
    # Stated tolerance: 1e-4 absolute on every logged global-batch loss.
    for step in a:
        assert a[step] == pytest.approx(b[step], abs=1e-4), step
    ma, mb = _teacher_metrics(tmp_path / "one"), _teacher_metrics(tmp_path / "two")
    assert ma["valid"]["accuracy"] == mb["valid"]["accuracy"]
