"""The experts stage: one expert fine-tuned per part of the partition, each its own unit."""

from __future__ import annotations

import shutil
from pathlib import Path

from accelerate.utils import set_seed
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from moekd.evaluation.evaluate import evaluate_classifier
from moekd.io import write_json
from moekd.models.classifier import HFClassifier, load_model_and_tokenizer
from moekd.models.footprint import footprint
from moekd.stages.context import RunContext
from moekd.stages.mixture import EXPERTS, base_source, embeddings, mixture_splits
from moekd.stages.partition import load_partition
from moekd.stages.teacher import mark_teacher_input
from moekd.stages.unit import Unit, Writer
from moekd.stages.variants import augmented
from moekd.training.finetune import finetune_classifier


def _expert_start(ctx: RunContext) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    """Warm start from the pre-trained base (default) or from the full-data teacher."""
    base = base_source(ctx)
    warm_teacher = ctx.cfg.experts.warm_start == "teacher" or base is None
    source = ctx.layout.teacher if warm_teacher else base
    assert source is not None
    model, tokenizer = load_model_and_tokenizer(source)  # a hub base: offline, cached or one line
    return model, tokenizer, str(source)


def _expert(ctx: RunContext, part: int) -> Writer:
    partition = load_partition(ctx)
    pool = mixture_splits(ctx)["pool"]
    valid = ctx.splits.valid
    members = [pool[i] for i in partition.members(part)]
    members = augmented(ctx, members, ctx.cfg.experts.augment, "experts.augment")
    valid_parts = partition.assign(
        embeddings(ctx, "valid") if partition.centroids is not None else None, valid
    )
    own_valid = [s for s, p in zip(valid, valid_parts, strict=True) if p == part]
    select_on = own_valid if len(own_valid) >= ctx.cfg.experts.min_region_valid else valid
    set_seed(ctx.cfg.experts.train.seed + part)
    model, tokenizer, started_from = _expert_start(ctx)
    mark_teacher_input(ctx, model)  # from the teacher: its config has the flag already
    work = ctx.layout.work_of(ctx.layout.expert(part))
    max_length = ctx.teacher_max_length
    result = finetune_classifier(
        model,
        tokenizer,
        members,
        select_on,
        ctx.cfg.experts.train,
        work,
        max_length,
        description=f"expert {part}",
    )

    def write(tmp: Path) -> None:
        shutil.copytree(work / "best", tmp, dirs_exist_ok=True)
        clf = HFClassifier.load(tmp, max_length=max_length)
        metrics = {
            "part": part,
            "train_size": len(members),
            "warm_start": started_from,
            "selected_on": "own-region valid" if select_on is own_valid else "whole valid",
            "own_region_valid": evaluate_classifier(clf, own_valid) if own_valid else None,
            "valid": evaluate_classifier(clf, valid),
            "test": {
                **evaluate_classifier(clf, ctx.splits.test),
                **footprint(clf.model.config, clf.max_length).to_dict(),
            },
            "train_result": result.to_dict(),
        }
        write_json(tmp / "metrics.json", metrics)

    return write


def expert_units(ctx: RunContext) -> list[Unit]:
    return [
        Unit(
            ctx.layout.expert(part),
            EXPERTS,
            _expert,
            (part,),
            salt=f"part={part}",
            collective=True,
            fan_out=True,
        )
        for part in range(load_partition(ctx).k)
    ]
