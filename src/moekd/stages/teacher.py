"""Stages up to the teacher: data splits, the scratch tokenizer, MLM pre-training, fine-tuning."""

from __future__ import annotations

import shutil
from pathlib import Path

from accelerate.utils import set_seed
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.evaluation.evaluate import evaluate_folder
from moekd.io import write_json
from moekd.models.classifier import load_model_and_tokenizer
from moekd.stages.context import RunContext
from moekd.stages.unit import Unit, Writer, write_json_artifact
from moekd.stages.variants import augmented
from moekd.training.finetune import (
    classifier_from_encoder,
    finetune_classifier,
    pretrain_mlm,
    scratch_classifier,
)

DATA = ("data",)
TEACHER = ("seed", "data", "teacher")
TOKENIZER = (
    "data",
    "teacher.preset",
    "teacher.model",
    "teacher.max_length",
    "teacher.vocab_size",
    "teacher.arch",
)
PRETRAIN = ("seed", *TOKENIZER, "teacher.pretrain")


# ---- data ------------------------------------------------------------------------------
def _data_splits(ctx: RunContext) -> Writer:
    return write_json_artifact(ctx.splits.summary())


def data_units(ctx: RunContext) -> list[Unit]:
    return [Unit(ctx.layout.data_splits, DATA, _data_splits)]


# ---- the scratch teacher's tokenizer and MLM pre-training ----------------------------------
def _tokenizer(ctx: RunContext) -> Writer:
    """The scratch teacher's BPE, trained once on all training functions."""
    arch = ctx.teacher_arch
    assert arch is not None
    codes = (s.code for s in ctx.splits.train)
    tokenizer = train_bpe_tokenizer(codes, arch.vocab_size, arch.max_length)
    return lambda tmp: tokenizer.save_pretrained(tmp)


def scratch_tokenizer(ctx: RunContext) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(ctx.layout.tokenizer)


def tokenizer_units(ctx: RunContext) -> list[Unit]:
    if ctx.teacher_arch is None:
        return []
    return [Unit(ctx.layout.tokenizer, TOKENIZER, _tokenizer)]


def _copy_best(work: Path, extra: dict[str, object] | None = None) -> Writer:
    """A writer that publishes a training's selected model (and a JSON record beside it)."""

    def write(tmp: Path) -> None:
        shutil.copytree(work / "best", tmp, dirs_exist_ok=True)
        if extra is not None:
            write_json(tmp / "train_result.json", extra)

    return write


def _pretrain(ctx: RunContext) -> Writer:
    arch = ctx.teacher_arch
    assert arch is not None
    settings = ctx.cfg.teacher.pretrain.train
    work = ctx.layout.work_of(ctx.layout.pretrain)
    set_seed(settings.seed)
    result = pretrain_mlm(
        arch,
        scratch_tokenizer(ctx),
        ctx.splits.train,
        ctx.splits.valid,
        settings,
        work,
        ctx.cfg.teacher.pretrain.mlm_probability,
    )
    return _copy_best(work, result.to_dict())


def pretrain_units(ctx: RunContext) -> list[Unit]:
    """MLM pre-training of a scratch teacher; pre-trained hub teachers skip it."""
    if not ctx.pretrained_scratch:
        return []
    return [Unit(ctx.layout.pretrain, PRETRAIN, _pretrain, collective=True)]


# ---- fine-tuning -------------------------------------------------------------------------
def _teacher_start(ctx: RunContext) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model fine-tuning starts from: MLM-pretrained encoder, fresh scratch, or the hub."""
    arch = ctx.teacher_arch
    if arch is None:
        return load_model_and_tokenizer(ctx.teacher_source)
    tokenizer = scratch_tokenizer(ctx)
    if ctx.cfg.teacher.pretrain.enabled:
        return classifier_from_encoder(ctx.layout.pretrain), tokenizer
    return scratch_classifier(arch, tokenizer), tokenizer


def _teacher(ctx: RunContext) -> Writer:
    """Fine-tune the teacher on the labeled half (and its variants: ``teacher.augment``);
    select on valid; measure on test."""
    set_seed(ctx.cfg.teacher.train.seed)
    model, tokenizer = _teacher_start(ctx)
    work = ctx.layout.work_of(ctx.layout.teacher)
    train = augmented(ctx, ctx.splits.labeled, ctx.cfg.teacher.augment, "teacher.augment")
    result = finetune_classifier(
        model,
        tokenizer,
        train,
        ctx.splits.valid,
        ctx.cfg.teacher.train,
        work,
        ctx.teacher_max_length,
        description="teacher",
    )

    def write(tmp: Path) -> None:
        _copy_best(work)(tmp)
        metrics = {
            "valid": result.best_metrics,
            "test": evaluate_folder(tmp, ctx.splits.test, ctx.teacher_max_length),
            "train_result": result.to_dict(),
        }
        write_json(tmp / "metrics.json", metrics)

    return write


def teacher_units(ctx: RunContext) -> list[Unit]:
    return [Unit(ctx.layout.teacher, TEACHER, _teacher, collective=True)]
