"""Student distillation, shared by every KD method: a small RoBERTa with its own tokenizer
(trained on the distillation split), trained on a knowledge source's soft labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from accelerate import PartialState
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from moekd.data.samples import CodeSample
from moekd.data.tokenizer_kinds import train_tokenizer
from moekd.io import atomic_dir
from moekd.models.presets import ArchSpec
from moekd.run import Run
from moekd.training.finetune import fit_classifier, scratch_classifier
from moekd.training.kd import DistillationTask
from moekd.training.loop import TrainResult
from moekd.training.settings import TrainSettings


def student_tokenizer(run: Run, kind: str, arch: ArchSpec) -> PreTrainedTokenizerBase:
    """One tokenizer per (kind, vocabulary size), trained on the distillation split and shared
    by every method and seed, so students of one architecture differ only in their knowledge."""
    folder = run.path("student_tokenizers", f"{kind}-{arch.vocab_size}")
    with PartialState().main_process_first():
        if not folder.exists():
            codes = (s.code for s in run.splits.unlabeled)
            tokenizer = train_tokenizer(kind, codes, arch.vocab_size, arch.max_length)
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
