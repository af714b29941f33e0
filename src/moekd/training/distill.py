"""Student distillation, shared by every KD method: a small scratch RoBERTa trained on a
knowledge source's soft labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from transformers import PreTrainedTokenizerBase

from moekd.config import TrainSettings
from moekd.cparse.canonical import canonical_identifiers
from moekd.data.samples import CodeSample
from moekd.models.classifier import CANONICAL_FLAG
from moekd.models.presets import ArchSpec
from moekd.training.finetune import classifier_from_encoder, fit_classifier, scratch_classifier
from moekd.training.kd import DistillationTask
from moekd.training.loop import TrainResult


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
    canonical: bool = False,
    init: Path | None = None,
) -> TrainResult:
    """KL(p_knowledge^T || p_student^T) * T^2 (+ alpha * CE where labels are given); the best
    student on ``valid`` ends in ``work_dir/best``. ``train`` labels are used only if alpha > 0.
    ``canonical``: the student reads identifiers canonicalised, in training and wherever it is
    loaded (the flag travels in its config). ``init``: continue from that student's folder
    instead of a fresh one (``arch`` must be its architecture)."""
    model = scratch_classifier(arch, tokenizer) if init is None else classifier_from_encoder(init)
    if canonical:
        setattr(model.config, CANONICAL_FLAG, True)
        train, valid = _canonical(train), _canonical(valid)
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


def _canonical(samples: Sequence[CodeSample]) -> list[CodeSample]:
    return [CodeSample(s.idx, canonical_identifiers(s.code), s.label, s.project) for s in samples]
