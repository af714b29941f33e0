"""The students stage: every method x size x seed, each its own resumable unit; each writes
its test predictions beside its metrics, for the results' paired comparisons."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from accelerate.utils import set_seed

from moekd.data.samples import CodeSample
from moekd.evaluation.evaluate import measure_folder
from moekd.io import write_json
from moekd.methods import Student, students_of
from moekd.methods.recipes import StudentRecipe, recipe
from moekd.stages.adversarial import Distil, adversarial_rounds
from moekd.stages.context import RunContext
from moekd.stages.search import DISTILLED, search_record
from moekd.stages.tokenizers import student_tokenizer, student_tokenizer_units
from moekd.stages.unit import Unit, Writer
from moekd.stages.variants import STUDENT_VARIANTS, names, student_variants
from moekd.training.distill import distill
from moekd.training.loop import TrainResult

# What a student depends on beyond DISTILLED: its baseline's settings, or its variants'.
BASELINE = {
    "compressor": ("baselines.compressor",),
    "avatar": ("baselines.avatar",),
    "morph": ("baselines.morph",),
}


def student_depends(student: Student) -> tuple[str, ...]:
    robust = (*STUDENT_VARIANTS, "robust.adversarial") if student.spec.robust else ()
    return tuple(dict.fromkeys(DISTILLED + BASELINE.get(student.spec.student, ()) + robust))


def student_salt(student: Student) -> str:
    return f"seed={student.seed}:{student.size.model_dump_json()}"


def student_recipe(ctx: RunContext, student: Student) -> StudentRecipe:
    return recipe(ctx.cfg, student, search_record(ctx, student.spec.student, student.size))


def tokenizer_units(ctx: RunContext) -> list[Unit]:
    needs = []
    for student in students_of(ctx.cfg):
        plan = student_recipe(ctx, student)
        needs.append((plan.tokenizer, plan.arch))
    return student_tokenizer_units(ctx, needs)


def _distillation_set(ctx: RunContext, student: Student) -> tuple[list[CodeSample], np.ndarray]:
    """The distillation split with its knowledge; a robust student's also holds every variant,
    each with its original's soft labels (so the KD loss on it is the consistency term)."""
    train = list(ctx.splits.unlabeled)
    knowledge = np.load(ctx.layout.knowledge_source(student.spec.knowledge))
    if not student.spec.robust:
        return train, knowledge
    found = student_variants(ctx)
    originals = np.array([index for index, _ in found], dtype=int)
    for k, (index, code) in enumerate(found):
        train.append(CodeSample(f"{train[index].idx}~{k}", code, train[index].label))
    return train, np.concatenate([knowledge, knowledge[originals]]) if found else knowledge


def _distiller(ctx: RunContext, student: Student, plan: StudentRecipe) -> Distil:
    """Distils ``student`` by its recipe: (set, soft labels, start folder or None for a fresh
    student, work folder, epochs or None for the recipe's) -> the result."""
    tokenizer = student_tokenizer(ctx, plan.tokenizer, plan.arch)

    def run(
        samples: list[CodeSample],
        soft: np.ndarray,
        init: Path | None,
        folder: Path,
        epochs: int | None,
    ) -> TrainResult:
        return distill(
            plan.arch,
            tokenizer,
            samples,
            soft,
            ctx.splits.valid,
            plan.train if epochs is None else plan.train.model_copy(update={"epochs": epochs}),
            folder,
            plan.temperature,
            plan.alpha,
            description=student.target if init is None else f"{student.target} (continued)",
            canonical=student.spec.canonical,
            init=init,
        )

    return run


def _student(ctx: RunContext, student: Student) -> Writer:
    plan = student_recipe(ctx, student)
    train, knowledge = _distillation_set(ctx, student)
    work = ctx.layout.work_of(ctx.layout.model(student.target))
    set_seed(student.seed)
    distil = _distiller(ctx, student, plan)
    result = distil(train, knowledge, None, work, None)
    best, rounds = work / "best", []
    hardening = ctx.cfg.robust.adversarial
    if student.spec.robust and hardening.rounds:
        best, rounds = adversarial_rounds(
            hardening, train, knowledge, len(ctx.splits.unlabeled), names(ctx), best, work, distil
        )

    def write(tmp: Path) -> None:
        shutil.copytree(best, tmp, dirs_exist_ok=True)
        test, proba = measure_folder(tmp, ctx.splits.test, plan.arch.max_length)
        np.save(tmp / ctx.layout.test_proba(student.target).name, proba, allow_pickle=False)
        record = {
            "method": student.method,
            "size": student.size.label,
            "seed": student.seed,
            "knowledge": student.spec.knowledge,
            "variants": len(train) - len(ctx.splits.unlabeled),  # distilled on, beside originals
            "adversarial_rounds": rounds,
            "recipe": plan.to_dict(),
            "search": plan.search,  # the baselines' search record (None for fixed presets)
            "valid": rounds[-1]["valid"] if rounds else result.best_metrics,
            "test": test,
            "train_result": result.to_dict(),
        }
        write_json(tmp / "metrics.json", record)

    return write


def student_units(ctx: RunContext) -> list[Unit]:
    return [
        Unit(
            ctx.layout.model(student.target),
            student_depends(student),
            _student,
            (student,),
            student_salt(student),
            collective=True,
            fan_out=True,
        )
        for student in students_of(ctx.cfg)
    ]
