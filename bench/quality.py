"""Bench: every method of a config (default devign-cpu) in one run, as a JSON and a Markdown
table, beside the run's two references a student must beat to be worth shipping: TF-IDF +
logistic regression and always predicting the majority class (fitted on the labeled half).

Runs the whole pipeline (resumable: rerun to continue), then writes ``OUT/quality.json`` and
``OUT/quality.md``.

    python bench/quality.py [--config devign-cpu] [--out runs/devign-cpu]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from moekd.cli import _quiet_libraries
from moekd.config import load_config
from moekd.evaluation.report import (
    comparison_table,
    model_table,
    reference_rows,
    robustness_table,
)
from moekd.io import atomic_write_json, atomic_write_text
from moekd.pipeline import run_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="devign-cpu")
    parser.add_argument("--out", type=Path, default=Path("runs/devign-cpu"))
    args = parser.parse_args()
    _quiet_libraries()
    cfg = load_config(args.config)
    started = time.perf_counter()
    run = run_pipeline(cfg, args.out)
    wall = time.perf_counter() - started
    results = json.loads(run.layout.results.read_text())
    rows = {
        f"teacher ({cfg.teacher.preset})": results["teacher"],
        "mixture of experts": results["moe"],
        **results.get("methods", {}),
        **reference_rows(results),
    }
    summary = {
        "config": cfg.name,
        "seeds": cfg.students.seeds,
        "rows": rows,
        "comparisons": results.get("comparisons", []),
        "timings_s": results.get("timings_s", {}),
        "this_invocation_s": round(wall, 1),
    }
    atomic_write_json(args.out / "quality.json", summary)
    parts = [f"# Quality: {cfg.name} (seeds {cfg.students.seeds})", "", model_table(rows), ""]
    for table in (robustness_table(rows), comparison_table(summary["comparisons"])):
        if table:
            parts += [table, ""]
    atomic_write_text(args.out / "quality.md", "\n".join(parts))
    print("\n".join(parts))
    stages = sum(summary["timings_s"].values()) / 60
    print(f"this invocation {wall / 60:.1f} min; stages {stages:.1f} min")


if __name__ == "__main__":
    main()
