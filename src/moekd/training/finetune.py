"""Fine-tuning and MLM pre-training of Hugging Face encoders through the one training loop."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    RobertaForMaskedLM,
    RobertaForSequenceClassification,
)

from moekd.config import TrainSettings
from moekd.data.samples import CodeSample
from moekd.models.dataflow_input import GraphClassifier, dataflow_input
from moekd.models.presets import ArchSpec
from moekd.training.loop import Task, TrainingLoop, TrainResult
from moekd.training.tasks import (
    ClassificationTask,
    MaskedLMObjective,
    MaskedLMTask,
    encode_samples,
    make_collate,
)


def hf_saver(tokenizer: PreTrainedTokenizerBase):
    """Save model + tokenizer in Hugging Face format (safetensors weights)."""

    def save(model: torch.nn.Module, folder: Path) -> None:
        if isinstance(model, GraphClassifier):
            model = model.model
        assert isinstance(model, PreTrainedModel)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    return save


def scratch_classifier(arch: ArchSpec, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """A randomly initialised RoBERTa classifier sized to ``tokenizer``'s vocabulary."""
    spec = arch.with_(vocab_size=len(tokenizer))
    return RobertaForSequenceClassification(
        spec.roberta_config(pad_token_id=tokenizer.pad_token_id)
    )


def classifier_from_encoder(folder: Path) -> PreTrainedModel:
    """A classifier on top of a (pre-trained) encoder folder; the head starts fresh."""
    return AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=2, use_safetensors=True
    )


def fit_classifier(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    task: Task,
    train: Sequence[CodeSample],
    valid: Sequence[CodeSample] | None,
    settings: TrainSettings,
    work_dir: Path,
    max_length: int,
    description: str,
    soft_labels: np.ndarray | None = None,
) -> TrainResult:
    """Train a Hugging Face classifier on samples with ``task``; the selected model and its
    tokenizer end in ``work_dir/best``. A model flagged for the data-flow input trains on it."""
    dataflow = dataflow_input(model)
    loop = TrainingLoop(
        GraphClassifier(model) if dataflow else model,
        task,
        make_collate(tokenizer.pad_token_id),
        settings,
        work_dir,
        hf_saver(tokenizer),
        description=description,
    )
    return loop.fit(
        encode_samples(tokenizer, train, max_length, soft_labels, dataflow),
        encode_samples(tokenizer, valid, max_length, dataflow=dataflow) if valid else None,
    )


def finetune_classifier(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train: Sequence[CodeSample],
    valid: Sequence[CodeSample] | None,
    settings: TrainSettings,
    work_dir: Path,
    max_length: int,
    description: str = "fine-tune",
) -> TrainResult:
    """Cross-entropy fine-tuning on hard labels."""
    return fit_classifier(
        model,
        tokenizer,
        ClassificationTask(),
        train,
        valid,
        settings,
        work_dir,
        max_length,
        description,
    )


def pretrain_mlm(
    arch: ArchSpec,
    tokenizer: PreTrainedTokenizerBase,
    train: Sequence[CodeSample],
    valid: Sequence[CodeSample] | None,
    settings: TrainSettings,
    work_dir: Path,
    probability: float = 0.15,
) -> TrainResult:
    """Masked-LM pre-training of a from-scratch RoBERTa on the task's code: the CPU stand-in
    for CodeBERT's pre-training, and the substitute generator ALERT needs."""
    spec = arch.with_(vocab_size=len(tokenizer))
    model = RobertaForMaskedLM(spec.roberta_config(pad_token_id=tokenizer.pad_token_id))
    settings = settings.model_copy(update={"select_metric": "loss"})
    save = hf_saver(tokenizer)
    loop = TrainingLoop(
        MaskedLMObjective(model),
        MaskedLMTask(tokenizer, probability),
        make_collate(tokenizer.pad_token_id),
        settings,
        work_dir,
        lambda objective, folder: save(objective.mlm, folder),
        description="pretrain (MLM)",
    )
    return loop.fit(
        encode_samples(tokenizer, train, spec.max_length),
        encode_samples(tokenizer, valid, spec.max_length) if valid else None,
    )
