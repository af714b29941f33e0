"""Bench: every method of a config (default devign-cpu) in one run, as a JSON and a Markdown
table, beside two references a student must beat to be worth shipping: TF-IDF + logistic
regression and always predicting the majority class, both fitted on the same training split.

Runs the whole pipeline (resumable: rerun to continue), then writes ``OUT/quality.json`` and
``OUT/quality.md``.

    python bench/quality.py [--config devign-cpu] [--out runs/devign-cpu]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from moekd.cli import _quiet_libraries
from moekd.config import load_config
from moekd.evaluation.metrics import classification_metrics
from moekd.evaluation.report import comparison_table, model_table, robustness_table
from moekd.io import atomic_write_json, atomic_write_text
from moekd.pipeline import run_pipeline
from moekd.stages.context import RunContext

# C tokens: identifiers, numbers, and runs of punctuation.
TOKEN_PATTERN = r"[A-Za-z_]\w*|\d+|[^\sA-Za-z_\d]+"


def references(run: RunContext) -> dict[str, dict[str, Any]]:
    """Cheap baselines on the run's own splits (the whole training split, labels included)."""
    train, test = run.splits.train, run.splits.test
    y_train = np.array([s.label for s in train])
    y_test = np.array([s.label for s in test])
    vectorizer = TfidfVectorizer(
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, 2),
        min_df=2,
        max_features=200_000,
        sublinear_tf=True,
    )
    x_train = vectorizer.fit_transform(s.code for s in train)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x_train, y_train)
    tfidf = model.predict(vectorizer.transform(s.code for s in test))
    majority = np.full_like(y_test, np.bincount(y_train).argmax())
    return {
        "tf-idf + logistic regression (reference)": classification_metrics(y_test, tfidf),
        "majority class (reference)": classification_metrics(y_test, majority),
    }


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
        **references(run),
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
