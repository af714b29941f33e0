"""The pipeline owns its processes and its folder: kill -9 of `moekd run` during the students
stage leaves no worker behind, a second run on the same folder is refused at once, and the
resumed run ends bit-identical to an uninterrupted one at the same worker count."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import toy_samples, write_jsonl

CONFIG = """
name: ownership
seed: 3
data: {{source: files, train: {data}, seed: 1}}
teacher:
  preset: scratch-tiny
  vocab_size: 300
  pretrain: {{enabled: false}}
  train: {{epochs: 1, batch_size: 16, lr: 0.002}}
experts: {{k: 2, min_size: 10, train: {{epochs: 1, batch_size: 16, lr: 0.002}}}}
router:
  fraction: 0.2
  train: {{epochs: 2, batch_size: 16, lr: 0.001, select_metric: loss}}
  init_train: {{epochs: 1, batch_size: 16, lr: 0.001}}
students:
  sizes: [{{label: 1.5mb, preset: half-1.5mb, target_mb: 1.5}}]
  seeds: [7, 8]
  max_length: 64
  train: {{epochs: 12, batch_size: 8, lr: 0.001, checkpoint_every: 10}}
methods: [vanilla_kd, moekd]
attacks: {{names: [wir-random], limit: 4, budget: 20}}
"""


def _moekd(config: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "moekd", "run", str(config), "--out", str(out)]
    return subprocess.Popen(
        [*command, "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status  # a zombie has ended; only its exit status is left


def _outcome(run: Path) -> dict[str, object]:
    results = json.loads((run / "results.json").read_text())
    metrics = {
        name: (m["accuracy"], m["f1"], {a: s["asr"] for a, s in m["attacks"].items()})
        for name, m in results["methods"].items()
    }
    weights = {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((run / "students").rglob("model.safetensors"))
    }
    return {"metrics": metrics, "weights": weights}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
def test_kill_nine_during_students_then_resume(tmp_path: Path) -> None:
    data = write_jsonl(toy_samples(200), tmp_path / "toy.jsonl")
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG.format(data=data))

    whole = _moekd(config, tmp_path / "whole")
    assert whole.wait(timeout=600) == 0, whole.stderr.read().decode()[-2000:]

    killed = tmp_path / "killed"
    first = _moekd(config, killed)
    deadline = time.monotonic() + 300
    while not list((killed / "work" / "students").rglob("checkpoints/latest")):
        assert first.poll() is None, first.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the students stage never checkpointed"
        time.sleep(0.05)

    started = time.monotonic()
    second = _moekd(config, killed)
    assert second.wait(timeout=60) == 2
    assert "another moekd run" in second.stderr.read().decode()
    assert time.monotonic() - started < 30

    workers = _children(first.pid)
    assert first.poll() is None, "the run ended before it could be killed"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    time.sleep(10)
    assert [pid for pid in workers if _alive(pid)] == []

    rerun = _moekd(config, killed)
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read().decode()[-2000:]
    assert _outcome(killed) == _outcome(tmp_path / "whole")
