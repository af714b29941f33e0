"""Stages up to the teacher: data splits, the scratch tokenizer, MLM pre-training, fine-tuning."""

from __future__ import annotations

import shutil
from pathlib import Path

from accelerate import PartialState
from accelerate.utils import set_seed
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.evaluation.evaluate import evaluate_folder
from moekd.io import atomic_dir, atomic_write_json
from moekd.models.classifier import load_model_and_tokenizer
from moekd.run import Run, publish
from moekd.training.finetune import (
    classifier_from_encoder,
    finetune_classifier,
    pretrain_mlm,
    scratch_classifier,
)


def stage_data(run: Run) -> None:
    atomic_write_json(run.path("data_splits.json"), run.splits.summary())


def scratch_tokenizer(run: Run) -> PreTrainedTokenizerBase:
    """The scratch teacher's BPE, trained once on all training functions and kept in the run."""
    folder = run.path("tokenizer")
    with PartialState().main_process_first():
        if not folder.exists():
            arch = run.teacher_arch
            assert arch is not None
            codes = (s.code for s in run.splits.train)
            tokenizer = train_bpe_tokenizer(codes, arch.vocab_size, arch.max_length)
            with atomic_dir(folder) as tmp:
                tokenizer.save_pretrained(tmp)
    return AutoTokenizer.from_pretrained(folder)


def stage_pretrain(run: Run) -> None:
    """MLM pre-training of a scratch teacher; pre-trained hub teachers skip it."""
    arch = run.teacher_arch
    folder = run.path("pretrain")
    if arch is None or not run.cfg.teacher.pretrain.enabled:
        return
    settings = run.cfg.teacher.pretrain.train
    work = run.path("work", "pretrain")
    set_seed(settings.seed)
    result = pretrain_mlm(
        arch,
        scratch_tokenizer(run),
        run.splits.train,
        run.splits.valid,
        settings,
        work,
        run.cfg.teacher.pretrain.mlm_probability,
    )

    def fill(tmp: Path) -> None:
        shutil.copytree(work / "best", tmp, dirs_exist_ok=True)
        atomic_write_json(tmp / "train_result.json", result.to_dict())

    publish(folder, fill)


def _teacher_start(run: Run):
    """The model fine-tuning starts from: MLM-pretrained encoder, fresh scratch, or the hub."""
    arch = run.teacher_arch
    if arch is None:
        return load_model_and_tokenizer(run.teacher_source)
    tokenizer = scratch_tokenizer(run)
    if run.cfg.teacher.pretrain.enabled:
        return classifier_from_encoder(run.path("pretrain")), tokenizer
    return scratch_classifier(arch, tokenizer), tokenizer


def stage_teacher(run: Run) -> None:
    """Fine-tune the teacher on the labeled half; select on valid; measure on test."""
    set_seed(run.cfg.teacher.train.seed)
    model, tokenizer = _teacher_start(run)
    work = run.path("work", "teacher")
    result = finetune_classifier(
        model,
        tokenizer,
        run.splits.labeled,
        run.splits.valid,
        run.cfg.teacher.train,
        work,
        run.teacher_max_length,
        description="teacher",
    )

    def fill(tmp: Path) -> None:
        shutil.copytree(work / "best", tmp, dirs_exist_ok=True)
        metrics = {
            "valid": result.best_metrics,
            "test": evaluate_folder(tmp, run.splits.test, run.teacher_max_length),
            "train_result": result.to_dict(),
        }
        atomic_write_json(tmp / "metrics.json", metrics)

    publish(run.path("teacher"), fill)
