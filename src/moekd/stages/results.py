"""The last stage: every measurement of the run in ``results.json`` and ``report.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from moekd.attacks.runner import ATTACKED
from moekd.evaluation.comparison import StudentSeeds, aggregate, compare
from moekd.evaluation.plots import write_plots
from moekd.evaluation.report import write_report
from moekd.io import atomic_write_json
from moekd.methods.recipes import student_units
from moekd.methods.students import student_folder
from moekd.models.classifier import HFClassifier
from moekd.run import Run, cached_array
from moekd.stages.robustness import attack_path, attack_results, attack_subset


def _read(path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _attack_outcomes(path: Path, order: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-function (attacked, succeeded) flags from an attack's JSONL, in subset order."""
    attacked, succeeded = np.zeros(len(order), bool), np.zeros(len(order), bool)
    for line in path.read_text().splitlines():
        record = json.loads(line)
        i = order[record["idx"]]
        attacked[i] = record["status"] == ATTACKED
        succeeded[i] = bool(record["success"])
    return attacked, succeeded


def gather_students(run: Run) -> dict[str, StudentSeeds]:
    """Every (method, size) with at least one finished seed: metrics, test predictions
    (computed once and cached under ``RUN/predictions``) and attack outcomes."""
    test_codes = [s.code for s in run.splits.test]
    order = {s.idx: i for i, s in enumerate(attack_subset(run))}
    seeds: dict[str, list] = {}
    for unit in student_units(run):
        folder = student_folder(run, unit)
        record = _read(folder / "metrics.json")
        if record is not None:
            seeds.setdefault(unit.name, []).append((unit, folder, record))
    gathered = {}
    for name, found in seeds.items():
        unit = found[0][0]
        predictions = [
            cached_array(
                run.path("predictions", name, f"{u.seed_dir}.npy"),
                lambda folder=folder: HFClassifier.load(folder).predict_proba(test_codes),
            ).argmax(1)
            for u, folder, _ in found
        ]
        summaries: dict[str, list] = {}
        outcomes: dict[str, list] = {}
        for u, _, _ in found:
            for attack, summary in attack_results(run, u.target).items():
                summaries.setdefault(attack, []).append(summary)
                path = attack_path(run, u.target, attack, ".jsonl")
                outcomes.setdefault(attack, []).append(_attack_outcomes(path, order))
        gathered[name] = StudentSeeds(
            method=unit.method,
            size=unit.size.label,
            seeds=[u.seed for u, _, _ in found],
            test=[record["test"] for _, _, record in found],
            predictions=np.stack(predictions),
            attacks=summaries,
            attacked={a: np.stack([o[0] for o in rows]) for a, rows in outcomes.items()},
            succeeded={a: np.stack([o[1] for o in rows]) for a, rows in outcomes.items()},
        )
    return gathered


def comparison_pairs(run: Run, students: dict[str, StudentSeeds]) -> list[tuple[str, str]]:
    """MoEKD against every other method at each size both were run at."""
    pairs = []
    for size in run.cfg.students.sizes:
        ours = f"moekd-{size.label}"
        if ours in students:
            pairs += [
                (ours, name)
                for name, s in students.items()
                if s.size == size.label and s.method != "moekd"
            ]
    return pairs


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
    students = gather_students(run)
    if students:
        results["methods"] = {name: aggregate(s) for name, s in students.items()}
        labels = np.array([s.label for s in run.splits.test])
        results["comparisons"] = [
            compare(students[ours], students[other], labels, seed=run.cfg.seed)
            for ours, other in comparison_pairs(run, students)
        ]
    # In the order the stages finished; students and attacks are also timed per unit.
    markers = sorted(run.path("stages").glob("*.json"), key=lambda p: p.stat().st_mtime)
    timings = {}
    for marker in markers:
        record = json.loads(marker.read_text())
        name = marker.stem
        if "units" in record:  # a stage of self-timed units: the wall time of its last run
            name += f" (wall: {record['units']} units in {record['workers']} processes)"
        timings[name] = record["seconds"]
    for folder in sorted(run.path("search").glob("*-*.json")):
        record = json.loads(folder.read_text())
        if "seconds" in record:
            timings[f"search {folder.stem}"] = round(record["seconds"], 2)
    for unit in student_units(run):
        record = _read(student_folder(run, unit) / "metrics.json")
        if record:
            seconds = record["train_result"]["seconds"]
            timings[f"student {unit.target} (training)"] = round(seconds, 2)
    for summary in sorted(run.path("attacks").rglob("*.summary.json")):
        seconds = json.loads(summary.read_text())["seconds"]
        target = summary.relative_to(run.path("attacks")).as_posix()
        timings[f"attack {target.removesuffix('.summary.json')}"] = round(seconds, 2)
    results["timings_s"] = timings
    return results


def stage_results(run: Run) -> None:
    results = collect_results(run)
    atomic_write_json(run.path("results.json"), results)
    write_plots(results, run.path("plots"))
    write_report(results, run.path("report.md"))
