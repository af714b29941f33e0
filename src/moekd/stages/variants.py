"""Semantics-preserving variants of training functions, for the models that learn from them:
the teacher and the experts (``*.augment.ratio``) and ``moekd_robust``'s students
(``robust.variants``).

Renamings draw from the identifier vocabulary of the training split (``attacks/vocabulary.json``,
the pool MHM and WIR-Random draw from too), computed once. The students' variants of the
distillation split are computed once per run in parts (each its own unit, in worker processes);
the teacher's and experts' are drawn inside their own units, from their own seeds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence

from moekd.config import AugmentConfig, VariantConfig
from moekd.cparse import identifier_vocabulary, random_variant
from moekd.data.samples import CodeSample
from moekd.evaluation.fidelity import checked_relations
from moekd.methods import students_of
from moekd.stages.context import RunContext
from moekd.stages.unit import Unit, Writer, write_json_artifact

VOCABULARY = ("data",)
STUDENT_VARIANTS = ("data", "robust.variants", "robust.relations", "robust.rewrites", "robust.seed")
PART = 500  # distillation functions per unit of variants


def _vocabulary(ctx: RunContext) -> Writer:
    """Identifier names seen in the training functions (MHM and WIR-Random draw from them)."""
    return write_json_artifact(identifier_vocabulary(s.code for s in ctx.splits.train))


def vocabulary_unit(ctx: RunContext) -> Unit:
    return Unit(ctx.layout.attack_vocabulary, VOCABULARY, _vocabulary)


def robust_students(ctx: RunContext) -> bool:
    return any(s.spec.robust for s in students_of(ctx.cfg))


def _augmenting(ctx: RunContext) -> bool:
    cfg = ctx.cfg
    return cfg.teacher.augment.ratio > 0 or cfg.experts.augment.ratio > 0 or robust_students(ctx)


def vocabulary_units(ctx: RunContext) -> list[Unit]:
    return [vocabulary_unit(ctx)] if _augmenting(ctx) else []


def names(ctx: RunContext) -> list[str]:
    return json.loads(ctx.layout.attack_vocabulary.read_text())


def _drawer(cfg: VariantConfig, pool: Sequence[str], setting: str) -> Callable[..., str]:
    """Draws one variant of a code with a generator, by ``cfg`` (its relations checked once)."""
    relations = checked_relations(cfg.relations, f"{setting}.relations")
    return lambda code, rng: random_variant(code, rng, relations, cfg.rewrites, pool)


def augmented(
    ctx: RunContext, samples: Sequence[CodeSample], cfg: AugmentConfig, setting: str
) -> list[CodeSample]:
    """A training set with variants (``cfg``; none at ratio 0), renaming from the run's pool."""
    if cfg.ratio == 0:
        return list(samples)
    return with_variants(samples, cfg, names(ctx), setting)


def with_variants(
    samples: Sequence[CodeSample], cfg: AugmentConfig, pool: Sequence[str], setting: str
) -> list[CodeSample]:
    """``samples`` and, for ``cfg.ratio`` of them on average (every one once per whole unit of
    ratio), a variant with the same label, drawn from ``cfg.seed`` and each function's idx."""
    whole, extra = divmod(cfg.ratio, 1)
    draw = _drawer(cfg, pool, setting)
    out = list(samples)
    for sample in samples:
        rng = random.Random(f"{cfg.seed}:{sample.idx}")
        count = int(whole) + (rng.random() < extra)
        for k in range(count):
            code = draw(sample.code, rng)
            out.append(CodeSample(f"{sample.idx}~{k}", code, sample.label, sample.project))
    return out


# ---- moekd_robust's variants of the distillation split -----------------------------------
def _parts(ctx: RunContext) -> list[range]:
    n = len(ctx.splits.unlabeled)
    return [range(i, min(i + PART, n)) for i in range(0, n, PART)]


def _student_variants(ctx: RunContext, part: range) -> Writer:
    """``robust.variants`` variants of each distillation function of ``part`` (the code itself
    where no relation applies)."""
    cfg = ctx.cfg.robust
    draw = _drawer(cfg, names(ctx), "robust")
    rows = []
    for index in part:
        sample = ctx.splits.unlabeled[index]
        rng = random.Random(f"{cfg.seed}:{sample.idx}")
        codes = [draw(sample.code, rng) for _ in range(cfg.variants)]
        rows.append({"idx": sample.idx, "variants": codes})
    return write_json_artifact(rows)


def student_variant_units(ctx: RunContext) -> list[Unit]:
    if not robust_students(ctx) or ctx.cfg.robust.variants == 0:
        return []
    return [
        Unit(
            ctx.layout.student_variants(number),
            STUDENT_VARIANTS,
            _student_variants,
            (part,),
            f"part={number}",
            fan_out=True,
        )
        for number, part in enumerate(_parts(ctx))
    ]


def student_variants(ctx: RunContext) -> list[tuple[int, str]]:
    """Every variant of the distillation split as (index of its original, code)."""
    if ctx.cfg.robust.variants == 0:
        return []
    found = []
    for number, part in enumerate(_parts(ctx)):
        rows = json.loads(ctx.layout.student_variants(number).read_text())
        for index, row in zip(part, rows, strict=True):
            if row["idx"] != ctx.splits.unlabeled[index].idx:
                raise RuntimeError(f"{ctx.root}: variants part {number} is not of this split")
            found += [(index, code) for code in row["variants"]]
    return found
