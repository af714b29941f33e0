"""The attacks stage: every student (and the teacher) under every configured attack, on one
stratified subset of the test split, so attack success rates are comparable across models.
Each (model, attack) pair is its own unit, with its folder of records, adversarial examples
and summary."""

from __future__ import annotations

import json
import shutil
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from moekd.attacks import MaskedLMSubstitutes, attack_samples, build_recipe
from moekd.attacks.recipes import Recipe, needs_of
from moekd.attacks.substitute_store import StoredSubstitutes, compute_store
from moekd.data.samples import CodeSample
from moekd.data.splits import stratified_subset
from moekd.deploy.onnx_classifier import OnnxClassifier
from moekd.errors import UserError
from moekd.io import write_json
from moekd.layout import TEACHER as TEACHER_TARGET
from moekd.methods import students_of
from moekd.models.classifier import CodeClassifier, HFClassifier
from moekd.stages.context import RunContext
from moekd.stages.students import student_depends, student_salt
from moekd.stages.teacher import PRETRAIN, TEACHER
from moekd.stages.unit import Unit, Writer
from moekd.stages.variants import vocabulary_unit

SUBSTITUTES = (
    *PRETRAIN,
    "attacks.limit",
    "attacks.seed",
    "attacks.mlm",
    "attacks.max_occurrences",
    "attacks.window",
)
#: Functions per substitutes unit: parts resume and spread over the workers.
SUBSTITUTES_PART = 25
#: What picks the attack set (and checks a victim's labels on it).
ATTACK_SET = ("seed", "data", "attacks.limit", "attacks.seed", "attacks.backend")
ATTACK = (*ATTACK_SET, "attacks.budget")
OWN = {  # what each attack depends on beside ATTACK
    "alert": ("attacks.mlm", "attacks.max_occurrences", "attacks.window", "attacks.alert"),
    "mhm": ("attacks.mhm",),
    "wir-random": ("attacks.wir_random",),
    "struct-mhm": ("attacks.struct_mhm",),
}


def attack_subset(ctx: RunContext) -> list[CodeSample]:
    return stratified_subset(ctx.splits.test, ctx.cfg.attacks.limit, ctx.cfg.attacks.seed)


def mlm_source(ctx: RunContext) -> str | Path:
    """ALERT's masked LM: ``attacks.mlm``, a scratch teacher's pre-training, a stand-in teacher
    (``teacher.standin``: nothing reaches the hub), or CodeBERT's MLM from the hub."""
    if ctx.cfg.attacks.mlm:
        return ctx.cfg.attacks.mlm
    if ctx.pretrained_scratch:
        return ctx.layout.pretrain
    if ctx.teacher_standin is not None:
        return ctx.layout.standin
    if ctx.teacher_arch is not None:
        raise UserError("ALERT needs a masked LM: enable teacher.pretrain or set attacks.mlm")
    return "microsoft/codebert-base-mlm"


# ---- the identifier vocabulary -------------------------------------------------------------
def vocabulary_units(ctx: RunContext) -> list[Unit]:
    if all(needs_of(name) != "vocabulary" for name in ctx.cfg.attacks.names):
        return []
    return [vocabulary_unit(ctx)]


# ---- ALERT's substitutes, once per function of the attack set -----------------------------
@cache
def _masked_lm(source: str, max_occurrences: int | None, window: int | None):
    return MaskedLMSubstitutes.load(source, max_occurrences=max_occurrences, window=window)


def _parts(ctx: RunContext) -> list[list[CodeSample]]:
    subset = attack_subset(ctx)
    return [subset[i : i + SUBSTITUTES_PART] for i in range(0, len(subset), SUBSTITUTES_PART)]


def _substitutes(ctx: RunContext, part: int) -> Writer:
    cfg = ctx.cfg.attacks
    artifact = ctx.layout.substitutes(part)
    work = ctx.layout.work_of(artifact) / artifact.name
    source = _masked_lm(str(mlm_source(ctx)), cfg.max_occurrences, cfg.window)
    compute_store(source, _parts(ctx)[part], work, label=f"substitutes {part + 1}")
    return lambda tmp: shutil.copyfile(work, tmp)


def substitute_units(ctx: RunContext) -> list[Unit]:
    if all(needs_of(name) != "mlm" for name in ctx.cfg.attacks.names):
        return []
    return [
        Unit(
            ctx.layout.substitutes(part),
            # the stand-in is the MLM; named only when on, so other runs keep their hashes
            SUBSTITUTES + (("teacher.standin",) if ctx.cfg.teacher.standin else ()),
            _substitutes,
            (part,),
            f"part {part} of {SUBSTITUTES_PART}",
            fan_out=True,
        )
        for part in range(len(_parts(ctx)))
    ]


# ---- one (model, attack) pair ----------------------------------------------------------------
def _recipe(ctx: RunContext, name: str) -> Recipe:
    cfg = ctx.cfg.attacks
    settings = cfg.settings_of(name).model_dump(exclude={"budget"})
    source: dict[str, Any] = {}
    if needs_of(name) == "mlm":
        paths = [ctx.layout.substitutes(part) for part in range(len(_parts(ctx)))]
        source = {"substitutes": StoredSubstitutes.load(paths)}
    elif needs_of(name) == "vocabulary":
        source = {"vocabulary": json.loads(ctx.layout.attack_vocabulary.read_text())}
    return build_recipe(name, budget=cfg.budget_of(name), settings=settings, **source)


@lru_cache(maxsize=1)
def _model(folder: Path) -> HFClassifier:
    """A published model folder never changes; a model's attacks come one after another, so
    one is loaded once per process."""
    return HFClassifier.load(folder)


@lru_cache(maxsize=1)
def _onnx_model(path: Path) -> OnnxClassifier:
    import torch

    return OnnxClassifier.load(path, threads=torch.get_num_threads())


def _victim(ctx: RunContext, target: str) -> CodeClassifier:
    """The model the attacks query: the torch model, or its INT8 ONNX export."""
    if ctx.cfg.attacks.backend == "onnx":
        return _onnx_model(ctx.layout.victim(target) / VICTIM_FILE)
    return _model(ctx.layout.model(target))


# ---- INT8 ONNX victims (attacks.backend: onnx) --------------------------------------------------
VICTIM_FILE = "model.int8.onnx"


def _export_victim(ctx: RunContext, target: str) -> Writer:
    """Export the model, then check its INT8 labels against torch's on the attack set."""
    from moekd.deploy.onnx_export import export_onnx

    work = ctx.layout.work_of(ctx.layout.victim(target))
    work.mkdir(parents=True, exist_ok=True)
    export_onnx(ctx.layout.model(target), work / "model.onnx", int8=True)
    codes = [s.code for s in attack_subset(ctx)]
    torch_labels = _model(ctx.layout.model(target)).predict_proba(codes).argmax(1)
    onnx_labels = _onnx_model(work / VICTIM_FILE).predict_proba(codes).argmax(1)
    agree = int((torch_labels == onnx_labels).sum())
    parity = {"examples": len(codes), "agree": agree, "parity": agree / max(len(codes), 1)}

    def write(tmp: Path) -> None:
        shutil.copyfile(work / VICTIM_FILE, tmp / VICTIM_FILE)
        write_json(tmp / "parity.json", parity)

    return write


def victim_units(ctx: RunContext) -> list[Unit]:
    if ctx.cfg.attacks.backend != "onnx":
        return []
    return [
        Unit(
            ctx.layout.victim(target),
            tuple(dict.fromkeys(ATTACK_SET + depends)),
            _export_victim,
            (target,),
            salt,
            fan_out=True,
        )
        for target, (depends, salt) in targets(ctx).items()
    ]


def victim_parity(ctx: RunContext) -> dict[str, dict[str, Any]]:
    """Each exported victim's label parity with torch (empty on the torch backend)."""
    if ctx.cfg.attacks.backend != "onnx":
        return {}
    found = {}
    for target in targets(ctx):
        path = ctx.layout.victim(target) / "parity.json"
        if path.exists():
            found[target] = json.loads(path.read_text())
    return found


def _attack(ctx: RunContext, target: str, attack: str) -> Writer:
    work = ctx.layout.work_of(ctx.layout.attack(target, attack).folder)
    records, adversarial = work / "records.jsonl", work / "adversarial.jsonl"
    summary = attack_samples(
        _victim(ctx, target),
        attack_subset(ctx),
        _recipe(ctx, attack),
        records,
        adversarial_jsonl=adversarial,
        seed=ctx.cfg.attacks.seed,
    )

    def write(tmp: Path) -> None:
        files = ctx.layout.attack(target, attack)
        for path in (records, adversarial):
            shutil.copyfile(path, tmp / path.name)
        write_json(tmp / files.summary.name, summary.to_dict())

    return write


def targets(ctx: RunContext) -> dict[str, tuple[tuple[str, ...], str]]:
    """Models to attack, with what each depends on: every student of every seed
    (``moekd-3mb/seed-42``), and the teacher."""
    found = {s.target: (student_depends(s), student_salt(s)) for s in students_of(ctx.cfg)}
    if ctx.cfg.attacks.attack_teacher:
        found[TEACHER_TARGET] = (TEACHER, "")
    return found


def attack_units(ctx: RunContext) -> list[Unit]:
    """Attack by attack, each over every model: a run stopped part-way has whole attacks to
    compare the models under."""
    return [
        Unit(
            ctx.layout.attack(target, attack).folder,
            tuple(dict.fromkeys(ATTACK + OWN[attack] + depends)),
            _attack,
            (target, attack),
            f"{salt}:{attack}",
            collective=True,
            fan_out=True,
        )
        for attack in ctx.cfg.attacks.names
        for target, (depends, salt) in targets(ctx).items()
    ]


def attack_summaries(ctx: RunContext, target: str) -> dict[str, Any]:
    """Every finished attack's summary of one model."""
    out = {}
    for attack in ctx.cfg.attacks.names:
        path = ctx.layout.attack(target, attack).summary
        if path.exists():
            out[attack] = json.loads(path.read_text())
    return out


def attack_setup(ctx: RunContext) -> dict[str, Any]:
    """What every attacked model faced (``results.json``'s ``attack_setup``)."""
    cfg = ctx.cfg.attacks
    uses_mlm = any(needs_of(name) == "mlm" for name in cfg.names)
    source = mlm_source(ctx) if uses_mlm else None
    if isinstance(source, Path) and source.is_relative_to(ctx.root):
        source = source.relative_to(ctx.root)
    summaries = [s for t in targets(ctx) for s in attack_summaries(ctx, t).values()]
    setup: dict[str, Any] = {
        "functions": len(attack_subset(ctx)),
        "seed": cfg.seed,
        "budgets": {name: cfg.budget_of(name) for name in cfg.names},
        "backend": cfg.backend,
        "substitutes": {
            "mlm": str(source),
            "window": cfg.window,
            "max_occurrences": cfg.max_occurrences,
        }
        if uses_mlm
        else None,
        "preservation": {
            "checked": sum(s.get("checked", 0) for s in summaries),
            "rejected": sum(s.get("rejected", 0) for s in summaries),
        },
    }
    if cfg.backend == "onnx":
        setup["victims"] = victim_parity(ctx)
    return setup
