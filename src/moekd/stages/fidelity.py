"""The fidelity stage: every model's labels on semantics-preserving variants of one stratified
test subset (MetaCompress's behavioural fidelity). The variants are computed once for all
models; each model's labels are their own unit."""

from __future__ import annotations

import json
from typing import Any

from moekd.data.samples import CodeSample
from moekd.data.splits import stratified_subset
from moekd.evaluation.fidelity import (
    FidelityLabels,
    checked_relations,
    fidelity_summary,
    labels_of,
    predict_labels,
    variant_rows,
)
from moekd.layout import TEACHER as TEACHER_TARGET
from moekd.methods import students_of
from moekd.models.classifier import HFClassifier
from moekd.stages.context import RunContext
from moekd.stages.students import student_depends, student_salt
from moekd.stages.teacher import TEACHER
from moekd.stages.unit import Unit, Writer, write_json_artifact

FIDELITY = ("seed", "data", "fidelity")


def relations(ctx: RunContext) -> list[str]:
    return checked_relations(ctx.cfg.fidelity.relations, "fidelity.relations")


def fidelity_subset(ctx: RunContext) -> list[CodeSample]:
    return stratified_subset(ctx.splits.test, ctx.cfg.fidelity.limit, ctx.cfg.fidelity.seed)


def _variants(ctx: RunContext) -> Writer:
    """Each function's variant under each relation (null where it does not apply)."""
    return write_json_artifact(
        variant_rows(fidelity_subset(ctx), relations(ctx), ctx.cfg.fidelity.seed)
    )


def variant_units(ctx: RunContext) -> list[Unit]:
    if not ctx.cfg.fidelity.enabled:
        return []
    return [Unit(ctx.layout.fidelity_variants, FIDELITY, _variants)]


def fidelity_targets(ctx: RunContext) -> dict[str, tuple[tuple[str, ...], str]]:
    """The teacher and every student, with what each depends on."""
    found = {TEACHER_TARGET: (TEACHER, "")}
    found.update({s.target: (student_depends(s), student_salt(s)) for s in students_of(ctx.cfg)})
    return found


def _labels(ctx: RunContext, target: str) -> Writer:
    model = HFClassifier.load(ctx.layout.model(target))
    rows = json.loads(ctx.layout.fidelity_variants.read_text())
    return write_json_artifact(predict_labels(model, fidelity_subset(ctx), rows))


def label_units(ctx: RunContext) -> list[Unit]:
    if not ctx.cfg.fidelity.enabled:
        return []
    return [
        Unit(
            ctx.layout.fidelity_labels(target),
            tuple(dict.fromkeys(FIDELITY + depends)),
            _labels,
            (target,),
            salt,
            fan_out=True,
        )
        for target, (depends, salt) in fidelity_targets(ctx).items()
    ]


def gather_fidelity(ctx: RunContext) -> dict[str, Any] | None:
    """results.json's ``fidelity``: flip rates and teacher agreement of every finished model
    (a student's seeds averaged), or None before the teacher's labels exist."""
    found: dict[str, FidelityLabels] = {}
    for target in fidelity_targets(ctx):
        path = ctx.layout.fidelity_labels(target)
        if path.exists():
            found[target] = labels_of(json.loads(path.read_text()))
    if TEACHER_TARGET not in found:
        return None
    groups = {TEACHER_TARGET: TEACHER_TARGET} | {
        s.target: s.name for s in students_of(ctx.cfg) if s.target in found
    }
    return fidelity_summary(found, groups, teacher=TEACHER_TARGET)
