"""The last stage: every measurement of the run in ``results.json`` (validated against
:mod:`moekd.evaluation.schema`), then ``report.md`` and the plots rendered from it. It reads
what the other stages wrote, students' test predictions included; it predicts nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from moekd.attacks.runner import ATTACKED
from moekd.evaluation.comparison import (
    Outcomes,
    StudentSeeds,
    aggregate,
    compare,
    versus_teacher,
)
from moekd.evaluation.plots import write_plots
from moekd.evaluation.report import write_report
from moekd.evaluation.schema import validate_results
from moekd.io import write_json
from moekd.layout import TEACHER
from moekd.methods import Student, students_of
from moekd.models.presets import teacher_preset
from moekd.stages.attacks import attack_setup, attack_subset, attack_summaries
from moekd.stages.attacks import targets as attack_targets
from moekd.stages.context import RunContext
from moekd.stages.fidelity import gather_fidelity
from moekd.stages.unit import Unit, Writer


def _read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _attack_outcomes(path: Path, order: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-function (attacked, succeeded) flags from an attack's records, in subset order."""
    attacked, succeeded = np.zeros(len(order), bool), np.zeros(len(order), bool)
    for line in path.read_text().splitlines():
        record = json.loads(line)
        i = order[record["idx"]]
        attacked[i] = record["status"] == ATTACKED
        succeeded[i] = bool(record["success"])
    return attacked, succeeded


def gather_students(ctx: RunContext) -> dict[str, StudentSeeds]:
    """Every (method, size) with at least one finished seed: metrics, test predictions and
    attack outcomes."""
    layout = ctx.layout
    order = {s.idx: i for i, s in enumerate(attack_subset(ctx))}
    found: dict[str, list[tuple[Student, dict[str, Any]]]] = {}
    for student in students_of(ctx.cfg):
        record = _read(layout.metrics(student.target))
        if record is not None:
            found.setdefault(student.name, []).append((student, record))
    gathered = {}
    for name, seeds in found.items():
        summaries: dict[str, list] = {}
        outcomes: dict[str, list] = {}
        for student, _ in seeds:
            for attack, summary in attack_summaries(ctx, student.target).items():
                summaries.setdefault(attack, []).append(summary)
                records = layout.attack(student.target, attack).records
                outcomes.setdefault(attack, []).append(_attack_outcomes(records, order))
        first = seeds[0][0]
        gathered[name] = StudentSeeds(
            method=first.method,
            size=first.size.label,
            seeds=[s.seed for s, _ in seeds],
            test=[record["test"] for _, record in seeds],
            predictions=np.stack(
                [np.load(layout.test_proba(s.target)).argmax(1) for s, _ in seeds]
            ),
            attacks=summaries,
            attacked={a: np.stack([o[0] for o in rows]) for a, rows in outcomes.items()},
            succeeded={a: np.stack([o[1] for o in rows]) for a, rows in outcomes.items()},
        )
    return gathered


def teacher_outcomes(ctx: RunContext) -> dict[str, Outcomes]:
    """The teacher's (attacked, succeeded) flags per attack it was attacked with."""
    order = {s.idx: i for i, s in enumerate(attack_subset(ctx))}
    return {
        attack: _attack_outcomes(ctx.layout.attack(TEACHER, attack).records, order)
        for attack in attack_summaries(ctx, TEACHER)
    }


def comparison_pairs(ctx: RunContext, students: dict[str, StudentSeeds]) -> list[tuple[str, str]]:
    """MoEKD against every other method at each size both were run at."""
    pairs = []
    for size in ctx.cfg.students.sizes:
        ours = f"moekd-{size.label}"
        if ours in students:
            pairs += [
                (ours, name)
                for name, s in students.items()
                if s.size == size.label and s.method != "moekd"
            ]
    return pairs


def timings(ctx: RunContext) -> dict[str, float]:
    """Stage wall times in pipeline order, then the self-timed parts: searches, each student's
    training, each attack (which overlap when they ran in worker processes)."""
    layout = ctx.layout
    records = [_read(p) | {"stage": p.stem} for p in layout.stage_records.glob("*.json")]
    out: dict[str, float] = {}
    for record in sorted(records, key=lambda r: r["index"]):
        name = record["stage"]
        if record["fanned_out"]:
            name += f" (wall: {record['fanned_out']} units in {record['workers']} processes)"
        out[name] = record["seconds"]
    for size in ctx.cfg.students.sizes:
        for method, path in (
            ("compressor", layout.compressor_search(size.label)),
            ("avatar", layout.surrogate_search("avatar", size.label)),
            ("morph", layout.surrogate_search("morph", size.label)),
        ):
            record = _read(path)
            if record is not None:
                out[f"search {method}-{size.label}"] = round(record["seconds"], 2)
    students = students_of(ctx.cfg)
    for student in students:
        record = _read(layout.metrics(student.target))
        if record is not None:
            out[f"student {student.target} (training)"] = round(
                record["train_result"]["seconds"], 2
            )
    for target in [*(s.target for s in students), TEACHER]:
        for attack, summary in attack_summaries(ctx, target).items():
            out[f"attack {target}/{attack}"] = round(summary["seconds"], 2)
    return out


def collect_results(ctx: RunContext) -> dict[str, Any]:
    """Every part of the run that has finished, in the shape of the results schema."""
    layout = ctx.layout
    results: dict[str, Any] = {"name": ctx.cfg.name, "dataset": _read(layout.data_splits)}
    references = _read(layout.references)
    if references:
        results["references"] = references
    teacher = _read(layout.metrics(TEACHER))
    if teacher:
        results["teacher"] = {
            "preset": ctx.cfg.teacher.preset,
            **teacher["test"],
            "attacks": attack_summaries(ctx, TEACHER),
        }
        if ctx.teacher_standin is not None:  # the report says its figures are not the model's
            results["teacher"]["standin"] = teacher_preset(ctx.cfg.teacher.preset).hub_id
    partition = _read(layout.partition_record)
    if partition:
        results["partition"] = {k: v for k, v in partition.items() if k != "assignments"}
        experts = [_read(layout.expert(k) / "metrics.json") for k in range(partition["k"])]
        if all(experts):
            results["experts"] = [
                {
                    **e["test"],
                    "part": e["part"],
                    "train_size": e["train_size"],
                    "own_region_valid_accuracy": (e["own_region_valid"] or {}).get("accuracy"),
                }
                for e in experts
            ]
    router = _read(layout.router / "metrics.json")
    if router:
        results["moe"] = router["test"]
    knowledge = _read(layout.knowledge / "summary.json")
    if knowledge:
        results["knowledge"] = knowledge
    students = gather_students(ctx)
    if students:
        results["methods"] = {name: aggregate(s) for name, s in students.items()}
        labels = np.array([s.label for s in ctx.splits.test])
        results["comparisons"] = [
            compare(students[ours], students[other], labels, seed=ctx.cfg.seed)
            for ours, other in comparison_pairs(ctx, students)
        ]
        teacher_attacks = teacher_outcomes(ctx) if teacher else {}
        if teacher_attacks:
            results["teacher_comparisons"] = [
                versus_teacher(s, teacher_attacks, seed=ctx.cfg.seed) for s in students.values()
            ]
    fidelity = gather_fidelity(ctx)
    if fidelity is not None:
        results["fidelity"] = fidelity
    if any(attack_summaries(ctx, target) for target in attack_targets(ctx)):
        results["attack_setup"] = attack_setup(ctx)
    results["timings_s"] = timings(ctx)
    return results


def _results(ctx: RunContext) -> Writer:
    results = validate_results(collect_results(ctx))
    return lambda tmp: write_json(tmp, results)


def _report(ctx: RunContext) -> Writer:
    results = json.loads(ctx.layout.results.read_text())
    return lambda tmp: write_report(results, tmp)


def _plots(ctx: RunContext) -> Writer:
    results = json.loads(ctx.layout.results.read_text())
    return lambda tmp: write_plots(results, tmp)


def results_units(ctx: RunContext) -> list[Unit]:
    return [Unit(ctx.layout.results, None, _results)]


def plot_units(ctx: RunContext) -> list[Unit]:
    return [Unit(ctx.layout.plots, None, _plots)]


def report_units(ctx: RunContext) -> list[Unit]:
    """After the plots: the report links the ones that exist."""
    return [Unit(ctx.layout.report, None, _report)]
