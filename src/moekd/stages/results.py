"""The last stage: every measurement of the run in ``results.json`` and ``report.md``."""

from __future__ import annotations

import json
from typing import Any

from moekd.evaluation.report import write_report
from moekd.io import atomic_write_json
from moekd.run import Run
from moekd.stages.robustness import attack_results


def _read(path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def collect_results(run: Run) -> dict[str, Any]:
    """The ``results.json`` contract of DESIGN.md, from whatever stages have finished."""
    results: dict[str, Any] = {
        "name": run.cfg.name,
        "dataset": _read(run.path("data_splits.json")),
    }
    teacher = _read(run.path("teacher", "metrics.json"))
    if teacher:
        results["teacher"] = {
            "preset": run.cfg.teacher.preset,
            **teacher["test"],
            "attacks": attack_results(run, "teacher"),
        }
    partition = _read(run.path("partition", "partition.json"))
    if partition:
        results["partition"] = {k: v for k, v in partition.items() if k != "assignments"}
    experts = _read(run.path("experts", "summary.json"))
    if experts:
        results["experts"] = [
            {
                **e["test"],
                "part": e["part"],
                "train_size": e["train_size"],
                "own_region_valid_accuracy": (e["own_region_valid"] or {}).get("accuracy"),
            }
            for e in experts
        ]
    router = _read(run.path("router", "metrics.json"))
    if router:
        results["moe"] = router["test"]
    knowledge = _read(run.path("knowledge", "summary.json"))
    if knowledge:
        results["knowledge"] = knowledge
    methods = {}
    for folder in sorted(run.path("students").glob("*/metrics.json")):
        record = json.loads(folder.read_text())
        name = folder.parent.name
        methods[name] = {**record["test"], "attacks": attack_results(run, name)}
    if methods:
        results["methods"] = methods
    # In the order the stages finished; students and attacks are timed per unit.
    markers = sorted(run.path("stages").glob("*.json"), key=lambda p: p.stat().st_mtime)
    timings = {p.stem: json.loads(p.read_text())["seconds"] for p in markers}
    for folder in sorted(run.path("students").glob("*/metrics.json")):
        seconds = json.loads(folder.read_text())["train_result"]["seconds"]
        timings[f"student {folder.parent.name} (training)"] = round(seconds, 2)
    for summary in sorted(run.path("attacks").glob("*.summary.json")):
        seconds = json.loads(summary.read_text())["seconds"]
        timings[f"attack {summary.name.removesuffix('.summary.json')}"] = round(seconds, 2)
    results["timings_s"] = timings
    return results


def stage_results(run: Run) -> None:
    results = collect_results(run)
    atomic_write_json(run.path("results.json"), results)
    write_report(results, run.path("report.md"))
