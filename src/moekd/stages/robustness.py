"""The attack stage: every student (and the teacher) under every configured attack, on one
stratified subset of the test split, so attack success rates are comparable across models."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from accelerate import PartialState

from moekd.attacks import MaskedLMSubstitutes, attack_samples, build_recipe, identifier_vocabulary
from moekd.attacks.recipes import needs_of
from moekd.data.samples import CodeSample
from moekd.data.splits import stratified_split
from moekd.errors import UserError
from moekd.io import atomic_write_json
from moekd.models.classifier import HFClassifier
from moekd.run import Run

ATTACK_DEPENDS = ("seed", "data", "teacher", "experts", "router", "students", "attacks")


def attack_subset(run: Run) -> list[CodeSample]:
    cfg = run.cfg.attacks
    test = run.splits.test
    if cfg.limit is None or cfg.limit >= len(test):
        return list(test)
    fraction = cfg.limit / len(test)
    return stratified_split(test, [fraction, 1 - fraction], cfg.seed)[0]


def targets(run: Run) -> dict[str, Path]:
    """Models to attack: every finished student, and the teacher."""
    found = {
        p.name: p for p in sorted(run.path("students").glob("*")) if (p / "metrics.json").exists()
    }
    if run.cfg.attacks.attack_teacher:
        found["teacher"] = run.path("teacher")
    return found


def mlm_source(run: Run) -> str | Path:
    if run.cfg.attacks.mlm:
        return run.cfg.attacks.mlm
    if run.teacher_arch is not None and run.cfg.teacher.pretrain.enabled:
        return run.path("pretrain")
    if run.teacher_arch is not None:
        raise UserError("ALERT needs a masked LM: enable teacher.pretrain or set attacks.mlm")
    return "microsoft/codebert-base-mlm"


@cache
def _substitutes(source: str, max_occurrences: int | None, window: int | None):
    return MaskedLMSubstitutes.load(source, max_occurrences=max_occurrences, window=window)


def _vocabulary(run: Run) -> list[str]:
    """Identifier names seen in the training functions (MHM and WIR-Random draw from them)."""
    path = run.path("attacks", "vocabulary.json")
    with PartialState().main_process_first():
        if not path.exists():
            atomic_write_json(path, identifier_vocabulary(s.code for s in run.splits.train))
    return json.loads(path.read_text())


def _recipe(run: Run, name: str):
    cfg = run.cfg.attacks
    if needs_of(name) == "mlm":
        subs = _substitutes(str(mlm_source(run)), cfg.max_occurrences, cfg.window)
        return build_recipe(name, substitutes=subs, budget=cfg.budget)
    return build_recipe(name, vocabulary=_vocabulary(run), budget=cfg.budget)


def summary_path(run: Run, target: str, attack: str) -> Path:
    return run.path("attacks", f"{target}-{attack}.summary.json")


def stage_attacks(run: Run) -> None:
    """Each (model, attack) pair is its own resumable unit with its own summary."""
    samples = attack_subset(run)
    settings = run.section_hash(ATTACK_DEPENDS)
    for target, folder in targets(run).items():
        model = HFClassifier.load(folder)
        for attack in run.cfg.attacks.names:
            done = summary_path(run, target, attack)
            if done.exists() and json.loads(done.read_text())["config_sha256"] == settings:
                continue
            summary = attack_samples(
                model,
                samples,
                _recipe(run, attack),
                run.path("attacks", f"{target}-{attack}.jsonl"),
                adversarial_jsonl=run.path("attacks", f"{target}-{attack}.adversarial.jsonl"),
                seed=run.cfg.attacks.seed,
            )
            if PartialState().is_main_process:
                atomic_write_json(done, {**summary.to_dict(), "config_sha256": settings})


def attack_results(run: Run, target: str) -> dict[str, Any]:
    out = {}
    for attack in run.cfg.attacks.names:
        path = summary_path(run, target, attack)
        if path.exists():
            record = json.loads(path.read_text())
            record.pop("config_sha256", None)
            out[attack] = record
    return out
