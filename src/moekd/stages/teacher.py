"""Stages up to the teacher: data splits, the scratch tokenizer, MLM pre-training, fine-tuning."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

from accelerate.utils import set_seed
from transformers import (
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    RobertaForMaskedLM,
)

from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.evaluation.evaluate import evaluate_folder
from moekd.io import write_json
from moekd.models.classifier import load_model_and_tokenizer
from moekd.models.dataflow_input import mark_dataflow
from moekd.models.presets import teacher_preset
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
STANDIN_TOKENIZER = (
    "data",
    "teacher.preset",
    "teacher.vocab_size",
    "teacher.arch",
    "teacher.standin",
)
STANDIN = ("seed", *STANDIN_TOKENIZER)
#: The stand-in's own record inside its folder: what it stands in for, its shape and size.
STANDIN_RECORD = "standin.json"


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


# ---- a hub teacher's stand-in (teacher.standin) ------------------------------------------
def _standin_tokenizer(ctx: RunContext) -> Writer:
    """A BPE at the hub model's vocabulary size, trained once on all training functions (the
    hub's tokenizer is as out of reach as its weights)."""
    shape = ctx.teacher_standin
    assert shape is not None
    codes = (s.code for s in ctx.splits.train)
    tokenizer = train_bpe_tokenizer(codes, shape.vocab_size, shape.max_length)
    return lambda tmp: tokenizer.save_pretrained(tmp)


def standin_tokenizer_units(ctx: RunContext) -> list[Unit]:
    if ctx.teacher_standin is None:
        return []
    return [Unit(ctx.layout.standin_tokenizer, STANDIN_TOKENIZER, _standin_tokenizer)]


def _standin(ctx: RunContext) -> Writer:
    """The hub model's exact shape with random weights, as a masked LM in Hugging Face format,
    so it loads wherever the hub id would: a classifier with a fresh head (teacher, experts,
    embeddings) and ALERT's masked LM. A smoke and cost stand-in, never pre-trained: its
    accuracy says nothing of the real model's. The embedding keeps the hub's row count even
    where this run's BPE learned fewer entries; the rows past the tokenizer are never read."""
    shape = ctx.teacher_standin
    assert shape is not None
    tokenizer = AutoTokenizer.from_pretrained(ctx.layout.standin_tokenizer)
    assert tokenizer.pad_token_id == shape.pad_token_id, "the BPE's <pad> is RoBERTa's"
    set_seed(ctx.cfg.seed)
    model = RobertaForMaskedLM(shape.roberta_config())
    record = {
        "stands_in_for": teacher_preset(ctx.cfg.teacher.preset).hub_id,
        "weights": "random (no pre-training)",
        "shape": asdict(shape),
        "tokenizer_entries": len(tokenizer),
        "parameters": model.num_parameters(),
    }

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / STANDIN_RECORD, record)

    return write


def standin_units(ctx: RunContext) -> list[Unit]:
    """The stand-in that plays the hub model's part (``teacher.standin``)."""
    if ctx.teacher_standin is None:
        return []
    return [Unit(ctx.layout.standin, STANDIN, _standin)]


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


def mark_teacher_input(ctx: RunContext, model: PreTrainedModel) -> None:
    """The preset's input on a model the teacher or an expert starts from: GraphCodeBERT's
    data flow (``TeacherPreset.dataflow``); the flag travels in the saved config."""
    if teacher_preset(ctx.cfg.teacher.preset).dataflow:
        mark_dataflow(model)


def _teacher(ctx: RunContext) -> Writer:
    """Fine-tune the teacher on the labeled half (and its variants: ``teacher.augment``);
    select on valid; measure on test."""
    set_seed(ctx.cfg.teacher.train.seed)
    model, tokenizer = _teacher_start(ctx)
    mark_teacher_input(ctx, model)
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
