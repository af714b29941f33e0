"""Student distillation, shared by every KD method: a small RoBERTa with its own BPE tokenizer
(trained on the distillation split), trained on a knowledge source's soft labels."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from accelerate import PartialState
from accelerate.utils import set_seed
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from moekd.data.samples import CodeSample
from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.errors import UserError
from moekd.evaluation.evaluate import evaluate_folder
from moekd.io import atomic_dir, atomic_write_json
from moekd.methods import METHODS
from moekd.models.presets import ArchSpec, student_preset
from moekd.run import Run, publish
from moekd.training.finetune import fit_classifier, scratch_classifier
from moekd.training.kd import DistillationTask
from moekd.training.loop import TrainResult
from moekd.training.settings import TrainSettings


def student_tokenizer(run: Run, arch: ArchSpec) -> PreTrainedTokenizerBase:
    """One BPE per vocabulary size, trained on the distillation split and shared by every
    method, so methods differ only in their knowledge."""
    folder = run.path("student_tokenizers", str(arch.vocab_size))
    with PartialState().main_process_first():
        if not folder.exists():
            codes = (s.code for s in run.splits.unlabeled)
            tokenizer = train_bpe_tokenizer(codes, arch.vocab_size, arch.max_length)
            with atomic_dir(folder) as tmp:
                tokenizer.save_pretrained(tmp)
    return AutoTokenizer.from_pretrained(folder)


def distill(
    arch: ArchSpec,
    tokenizer: PreTrainedTokenizerBase,
    train: Sequence[CodeSample],
    knowledge: np.ndarray,
    valid: Sequence[CodeSample],
    settings: TrainSettings,
    work_dir: Path,
    temperature: float,
    alpha: float = 0.0,
    description: str = "student",
) -> TrainResult:
    """KL(p_knowledge^T || p_student^T) * T^2 (+ alpha * CE where labels are given); the best
    student on ``valid`` ends in ``work_dir/best``. ``train`` labels are used only if alpha > 0."""
    model = scratch_classifier(arch, tokenizer)
    if alpha == 0:
        train = [CodeSample(s.idx, s.code, None, s.project) for s in train]
    return fit_classifier(
        model,
        tokenizer,
        DistillationTask(temperature, alpha),
        train,
        valid,
        settings,
        work_dir,
        arch.max_length,
        description,
        soft_labels=knowledge,
    )


def student_arch(run: Run, preset: str) -> ArchSpec:
    arch = student_preset(preset)
    if run.cfg.students.max_length:
        arch = arch.with_(max_length=run.cfg.students.max_length)
    return arch


# What a student depends on; a finished student with other settings is refused, not reused.
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


def student_name(method: str, preset: str) -> str:
    return f"{method}-{preset}"


def _distill_one(run: Run, method: str, preset: str) -> None:
    cfg = run.cfg.students
    arch = student_arch(run, preset)
    knowledge = np.load(run.path("knowledge", f"{METHODS[method].knowledge}.npy"))
    name = student_name(method, preset)
    work = run.path("work", "students", name)
    set_seed(cfg.train.seed)
    tokenizer = student_tokenizer(run, arch)
    result = distill(
        arch,
        tokenizer,
        run.splits.unlabeled,
        knowledge,
        run.splits.valid,
        cfg.train,
        work,
        cfg.temperature,
        cfg.alpha,
        description=name,
    )

    def fill(tmp: Path) -> None:
        shutil.copytree(work / "best", tmp, dirs_exist_ok=True)
        record = {
            "method": method,
            "preset": preset,
            "config_sha256": run.section_hash(STUDENT_DEPENDS),
            "knowledge": METHODS[method].knowledge,
            "temperature": cfg.temperature,
            "alpha": cfg.alpha,
            "valid": result.best_metrics,
            "test": evaluate_folder(tmp, run.splits.test, arch.max_length),
            "train_result": result.to_dict(),
        }
        atomic_write_json(tmp / "metrics.json", record)

    publish(run.path("students", name), fill)


def stage_students(run: Run) -> None:
    """Every method x every student preset; each student is its own resumable unit."""
    done = []
    for method in run.cfg.methods:
        for preset in run.cfg.students.presets:
            name = student_name(method, preset)
            record = run.path("students", name, "metrics.json")
            if not record.exists():
                _distill_one(run, method, preset)
            elif json.loads(record.read_text())["config_sha256"] != run.section_hash(
                STUDENT_DEPENDS
            ):
                raise UserError(
                    f"{record.parent}: this student was distilled with other settings; "
                    "use a new --out folder (or delete it)"
                )
            done.append(name)
    if PartialState().is_main_process:
        atomic_write_json(run.path("students", "done.json"), done)
    PartialState().wait_for_everyone()
