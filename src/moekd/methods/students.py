"""The students stage: every method x size x seed, each its own resumable unit."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
from accelerate import PartialState
from accelerate.utils import set_seed

from moekd.errors import UserError
from moekd.evaluation.evaluate import evaluate_folder
from moekd.io import atomic_write_json
from moekd.methods import METHODS
from moekd.methods.distill import distill, student_tokenizer
from moekd.methods.recipes import StudentUnit, recipe, student_units
from moekd.parallel import run_units, worker_count
from moekd.run import Run, publish

# What every student depends on; a finished student with other settings is refused, not reused.
STUDENT_DEPENDS = (
    "seed",
    "data",
    "teacher",
    "experts",
    "router",
    "students.max_length",
    "students.temperature",
    "students.alpha",
    "students.train",
)
BASELINE_DEPENDS = {"compressor": ("baselines.compressor",), "avatar": ("baselines.avatar",)}


def student_folder(run: Run, unit: StudentUnit) -> Path:
    return run.path("students", unit.name, unit.seed_dir)


def settings_hash(run: Run, unit: StudentUnit) -> str:
    sections = STUDENT_DEPENDS + BASELINE_DEPENDS.get(unit.method, ())
    return f"{run.section_hash(sections)}:seed={unit.seed}"


def _distill_unit(run: Run, unit: StudentUnit) -> None:
    plan = recipe(run, unit)
    knowledge = np.load(run.path("knowledge", f"{METHODS[unit.method].knowledge}.npy"))
    work = run.path("work", "students", unit.name, unit.seed_dir)
    set_seed(unit.seed)
    tokenizer = student_tokenizer(run, plan.tokenizer, plan.arch)
    result = distill(
        plan.arch,
        tokenizer,
        run.splits.unlabeled,
        knowledge,
        run.splits.valid,
        plan.train,
        work,
        plan.temperature,
        plan.alpha,
        description=unit.target,
    )

    def fill(tmp: Path) -> None:
        shutil.copytree(work / "best", tmp, dirs_exist_ok=True)
        record = {
            "method": unit.method,
            "size": unit.size.label,
            "seed": unit.seed,
            "config_sha256": settings_hash(run, unit),
            "knowledge": METHODS[unit.method].knowledge,
            "recipe": plan.to_dict(),
            "search": plan.search,  # the baselines' search record (None for fixed presets)
            "valid": result.best_metrics,
            "test": evaluate_folder(tmp, run.splits.test, plan.arch.max_length),
            "train_result": result.to_dict(),
        }
        atomic_write_json(tmp / "metrics.json", record)

    publish(student_folder(run, unit), fill)


def _prepare(run: Run, unit: StudentUnit) -> None:
    """What units share, done once before they fan out: the baselines' searches and the
    tokenizers (both cached in the run folder, where every unit then finds them)."""
    plan = recipe(run, unit)
    student_tokenizer(run, plan.tokenizer, plan.arch)


def _distill_job(job: tuple[Run, StudentUnit]) -> None:
    _distill_unit(*job)


def stage_students(run: Run) -> None:
    done, pending = [], []
    for unit in student_units(run):
        record = student_folder(run, unit) / "metrics.json"
        if not record.exists():
            pending.append(unit)
        elif json.loads(record.read_text())["config_sha256"] != settings_hash(run, unit):
            raise UserError(
                f"{record.parent}: this student was distilled with other settings; "
                "use a new --out folder (or delete it)"
            )
        done.append(unit.target)
    workers = worker_count(run.workers, len(pending))
    if workers > 1:
        for unit in pending:
            _prepare(run, unit)
    started = time.perf_counter()
    run_units(_distill_job, [(run, unit) for unit in pending], workers, "students")
    if pending:
        run.record_wall("students", time.perf_counter() - started, len(pending), workers)
    if PartialState().is_main_process:
        atomic_write_json(run.path("students", "done.json"), done)
    PartialState().wait_for_everyone()
