"""Bench: the demo config with overrides, run up to a stage, and the figures that decide whether
the demo shows the method at work: the references, the teacher, and each student's accuracy
against the majority rate (a constant predictor is flagged).

    python bench/demo_variant.py --out runs/demo-v2 --until teacher \\
        --set '{data: {synthetic_size: 4000}, teacher: {train: {epochs: 12, lr: 0.001}}}'

Resumable like any run (rerun the same command); ``--workers`` as for ``moekd run``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from moekd.cli import _quiet_libraries
from moekd.config import PACKAGED_CONFIGS, parse_config
from moekd.pipeline import STAGE_NAMES, run_pipeline


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` written over it, mapping by mapping."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--until", choices=STAGE_NAMES, default=None)
    parser.add_argument("--set", default="{}", help="YAML mapping written over configs/demo.yaml")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    _quiet_libraries()
    base = yaml.safe_load((PACKAGED_CONFIGS / "demo.yaml").read_text(encoding="utf-8"))
    cfg = parse_config(yaml.safe_dump(merged(base, yaml.safe_load(args.set) or {})), "demo+set")
    started = time.perf_counter()
    ctx = run_pipeline(cfg, args.out, args.until, args.workers)
    print(f"wall {time.perf_counter() - started:.1f} s")
    layout = ctx.layout
    if layout.references.exists():
        refs = json.loads(layout.references.read_text())
        tfidf, majority = refs["tfidf_lr"]["accuracy"], refs["majority"]["accuracy"]
        print(f"TF-IDF + LR {tfidf:.3f}, majority {majority:.3f}")
    if layout.metrics("teacher").exists():
        teacher = json.loads(layout.metrics("teacher").read_text())
        test, valid = teacher["test"]["accuracy"], teacher["valid"]["accuracy"]
        print(f"teacher test {test:.3f}, valid {valid:.3f}")
    for path in sorted(layout.root.glob("students/*/seed-*/metrics.json")):
        record = json.loads(path.read_text())
        proba = layout.test_proba(f"{record['method']}-{record['size']}/seed-{record['seed']}")
        constant = proba.exists() and len(np.unique(np.load(proba).argmax(1))) == 1
        flag = " CONSTANT" if constant else ""
        print(
            f"{path.parent.parent.name}/{path.parent.name}: {record['test']['accuracy']:.3f}{flag}"
        )
    for path in sorted(layout.stage_records.glob("*.json")):
        print(f"stage {path.stem}: {json.loads(path.read_text())['seconds']} s")


if __name__ == "__main__":
    main()
