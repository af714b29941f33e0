"""The references stage: TF-IDF + logistic regression and the majority class on the run's own
splits (labeled half -> test), so every report shows what a student must beat."""

from __future__ import annotations

from moekd.evaluation.references import references
from moekd.stages.context import RunContext
from moekd.stages.unit import Unit, Writer, write_json_artifact

REFERENCES = ("data",)


def _references(ctx: RunContext) -> Writer:
    return write_json_artifact(references(ctx.splits.labeled, ctx.splits.test))


def reference_units(ctx: RunContext) -> list[Unit]:
    return [Unit(ctx.layout.references, REFERENCES, _references)]
