"""The attack stage: every student (and the teacher) under every configured attack, on one
stratified subset of the test split, so attack success rates are comparable across models."""

from __future__ import annotations

import json
import time
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from accelerate import PartialState

from moekd.attacks import MaskedLMSubstitutes, attack_samples, build_recipe, identifier_vocabulary
from moekd.attacks.recipes import needs_of
from moekd.data.samples import CodeSample
from moekd.data.splits import stratified_split
from moekd.errors import UserError
from moekd.io import atomic_write_json
from moekd.methods.recipes import student_units
from moekd.methods.students import student_folder
from moekd.models.classifier import HFClassifier
from moekd.parallel import run_units, worker_count
from moekd.run import Run

ATTACK_DEPENDS = ("seed", "data", "attacks")


def attack_subset(run: Run) -> list[CodeSample]:
    cfg = run.cfg.attacks
    test = run.splits.test
    if cfg.limit is None or cfg.limit >= len(test):
        return list(test)
    fraction = cfg.limit / len(test)
    return stratified_split(test, [fraction, 1 - fraction], cfg.seed)[0]


def targets(run: Run) -> dict[str, Path]:
    """Models to attack: every finished student of every seed (``moekd-3mb/seed-42``), and the
    teacher."""
    found = {}
    for unit in student_units(run):
        folder = student_folder(run, unit)
        if (folder / "metrics.json").exists():
            found[unit.target] = folder
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


def attack_path(run: Run, target: str, attack: str, suffix: str) -> Path:
    """``RUN/attacks/<target>/<attack><suffix>``; a target may hold a slash (its seed)."""
    return run.path("attacks", *target.split("/"), f"{attack}{suffix}")


def summary_path(run: Run, target: str, attack: str) -> Path:
    return attack_path(run, target, attack, ".summary.json")


def _settings(run: Run, model_folder: Path) -> str:
    """The attack settings and the attacked model's own settings: changing a student's recipe
    re-attacks that student only."""
    if model_folder == run.path("teacher"):
        model = run.section_hash(("teacher",))
    else:
        model = json.loads((model_folder / "metrics.json").read_text())["config_sha256"]
    return f"{run.section_hash(ATTACK_DEPENDS)}:{model}"


@lru_cache(maxsize=1)
def _model(folder: Path) -> HFClassifier:
    """A published model folder never changes; a model's attacks come one after another, so
    one is loaded once per process."""
    return HFClassifier.load(folder)


def _attack_job(job: tuple[Run, str, Path, str, str]) -> None:
    """One (model, attack) pair: attack the subset, then write the summary that marks it done."""
    run, target, folder, attack, settings = job
    summary = attack_samples(
        _model(folder),
        attack_subset(run),
        _recipe(run, attack),
        attack_path(run, target, attack, ".jsonl"),
        adversarial_jsonl=attack_path(run, target, attack, ".adversarial.jsonl"),
        seed=run.cfg.attacks.seed,
    )
    if PartialState().is_main_process:
        atomic_write_json(
            summary_path(run, target, attack), {**summary.to_dict(), "config_sha256": settings}
        )


def stage_attacks(run: Run) -> None:
    """Each (model, attack) pair is its own resumable unit with its own summary."""
    jobs = []
    for target, folder in targets(run).items():
        settings = _settings(run, folder)
        for attack in run.cfg.attacks.names:
            done = summary_path(run, target, attack)
            if done.exists() and json.loads(done.read_text())["config_sha256"] == settings:
                continue
            jobs.append((run, target, folder, attack, settings))
    workers = worker_count(run.workers, len(jobs))
    if workers > 1 and any(needs_of(a) != "mlm" for a in run.cfg.attacks.names):
        _vocabulary(run)  # shared by the units: written once, before they fan out
    started = time.perf_counter()
    run_units(_attack_job, jobs, workers, "attacks")
    if jobs:
        run.record_wall("attacks", time.perf_counter() - started, len(jobs), workers)


def attack_results(run: Run, target: str) -> dict[str, Any]:
    out = {}
    for attack in run.cfg.attacks.names:
        path = summary_path(run, target, attack)
        if path.exists():
            record = json.loads(path.read_text())
            record.pop("config_sha256", None)
            out[attack] = record
    return out
