"""Bench: the scratch-small teacher, MLM-pretrained and fine-tuned on Devign, on this machine.

Runs the pipeline of a config up to the teacher stage (resumable: rerun to continue) and prints
the teacher's test metrics, its settings and the wall time of each stage.

    python bench/teacher_devign.py [--config devign-cpu] [--out runs/devign-cpu]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from moekd.cli import _quiet_libraries
from moekd.config import load_config
from moekd.pipeline import run_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="devign-cpu")
    parser.add_argument("--out", type=Path, default=Path("runs/devign-cpu"))
    args = parser.parse_args()
    _quiet_libraries()
    cfg = load_config(args.config)
    started = time.perf_counter()
    run = run_pipeline(cfg, args.out, until="teacher")
    wall = time.perf_counter() - started
    metrics = json.loads(run.layout.metrics("teacher").read_text())
    stages = {
        p.stem: json.loads(p.read_text())["seconds"]
        for p in run.layout.stage_records.glob("*.json")
    }
    test = metrics["test"]
    print(json.dumps({"config": cfg.teacher.model_dump(mode="json"), "stages_s": stages}, indent=2))
    print(
        f"teacher {cfg.teacher.preset} on {cfg.data.test}: accuracy {test['accuracy']:.4f} "
        f"precision {test['precision']:.4f} recall {test['recall']:.4f} f1 {test['f1']:.4f} "
        f"({test['params']:,} params); this invocation {wall / 60:.1f} min, "
        f"stages {sum(stages.values()) / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
