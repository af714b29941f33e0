"""The experiment as resumable stages over a run directory.

Each stage writes its artifact atomically and is skipped when the artifact exists; stages that
train resume from their last checkpoint when killed. ``RUN/config.yaml`` pins the config: a run
directory cannot silently mix two experiments.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from accelerate import PartialState
from accelerate.utils import set_seed
from rich.console import Console
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from moekd.config import ExperimentConfig, parse_config
from moekd.data.prepare import Splits, prepare_splits
from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.errors import UserError
from moekd.evaluation.metrics import metrics_from_proba
from moekd.io import atomic_dir, atomic_write_json, atomic_write_text
from moekd.models.classifier import HFClassifier, load_model_and_tokenizer
from moekd.models.footprint import footprint
from moekd.models.presets import ArchSpec, teacher_preset
from moekd.training.finetune import (
    classifier_from_encoder,
    finetune_classifier,
    pretrain_mlm,
    scratch_classifier,
)

console = Console(stderr=True)


class Run:
    """A run directory bound to one config; the stages read and write through it."""

    def __init__(self, cfg: ExperimentConfig, root: Path) -> None:
        self.cfg = cfg
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        pinned = self.root / "config.yaml"
        if pinned.exists():
            previous = parse_config(pinned.read_text(encoding="utf-8"), str(pinned))
            if previous != cfg:
                raise UserError(
                    f"{pinned}: this run directory holds a different config; "
                    "use a new --out folder (or delete this one)"
                )
        else:
            atomic_write_text(pinned, cfg.dump())
        self.timings_path = self.root / "timings.json"

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @cached_property
    def splits(self) -> Splits:
        splits = prepare_splits(self.cfg.data)
        recorded = self.path("data_splits.json")
        if recorded.exists():
            before = json.loads(recorded.read_text())["splits"]
            now = splits.summary()["splits"]
            changed = [k for k in now if before.get(k, {}).get("sha256") != now[k]["sha256"]]
            if changed:
                raise UserError(
                    f"{recorded}: the data changed since this run started (splits: "
                    f"{', '.join(changed)}); use a new --out folder"
                )
        return splits

    # ---- teacher description -----------------------------------------------------------
    @property
    def teacher_arch(self) -> ArchSpec | None:
        preset = teacher_preset(self.cfg.teacher.preset)
        if self.cfg.teacher.model is not None or preset.arch is None:
            return None
        arch = preset.arch.with_(**self.cfg.teacher.arch)
        if self.cfg.teacher.vocab_size:
            arch = arch.with_(vocab_size=self.cfg.teacher.vocab_size)
        if self.cfg.teacher.max_length:
            arch = arch.with_(max_length=self.cfg.teacher.max_length)
        return arch

    @property
    def teacher_max_length(self) -> int:
        if self.cfg.teacher.max_length:
            return self.cfg.teacher.max_length
        arch = self.teacher_arch
        return arch.max_length if arch else teacher_preset(self.cfg.teacher.preset).max_length

    @property
    def teacher_source(self) -> str:
        """The hub id or folder of a pre-trained teacher."""
        preset = teacher_preset(self.cfg.teacher.preset)
        source = self.cfg.teacher.model or preset.hub_id
        assert source is not None
        return source

    def record_time(self, stage: str, seconds: float) -> None:
        timings = json.loads(self.timings_path.read_text()) if self.timings_path.exists() else {}
        timings[stage] = round(seconds, 2)
        atomic_write_json(self.timings_path, timings)


# ---- stages ----------------------------------------------------------------------------
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


def publish(folder: Path, fill: Callable[[Path], None]) -> None:
    """Write a stage's artifact folder on the main process only, atomically."""
    state = PartialState()
    if state.is_main_process:
        with atomic_dir(folder) as tmp:
            fill(tmp)
    state.wait_for_everyone()


def _teacher_start(run: Run):
    """The model fine-tuning starts from: MLM-pretrained encoder, fresh scratch, or the hub."""
    arch = run.teacher_arch
    if arch is None:
        return load_model_and_tokenizer(run.teacher_source)
    tokenizer = scratch_tokenizer(run)
    if run.cfg.teacher.pretrain.enabled:
        return classifier_from_encoder(run.path("pretrain")), tokenizer
    return scratch_classifier(arch, tokenizer), tokenizer


def evaluate_folder(
    folder: str | Path, samples, max_length: int | None = None, batch_size: int = 32
) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 plus size and cost of a saved classifier."""
    clf = HFClassifier.load(folder, max_length=max_length, batch_size=batch_size)
    started = time.perf_counter()
    proba = clf.predict_proba([s.code for s in samples])
    seconds = time.perf_counter() - started
    metrics = metrics_from_proba([s.label for s in samples], proba)
    metrics.update(footprint(clf.model.config, clf.max_length).to_dict())
    metrics["latency_ms"] = 1000.0 * seconds / max(len(samples), 1)
    return metrics


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


def stage_results(run: Run) -> None:
    """Collect every stage's measurements into ``results.json`` and ``report.md``."""
    from moekd.evaluation.report import write_report

    results: dict[str, Any] = {
        "name": run.cfg.name,
        "dataset": json.loads(run.path("data_splits.json").read_text()),
    }
    teacher = json.loads(run.path("teacher", "metrics.json").read_text())
    results["teacher"] = {"preset": run.cfg.teacher.preset, **teacher["test"]}
    results["timings_s"] = (
        json.loads(run.timings_path.read_text()) if run.timings_path.exists() else {}
    )
    atomic_write_json(run.path("results.json"), results)
    write_report(results, run.path("report.md"))


@dataclass(frozen=True)
class Stage:
    """A step of the pipeline. A ``collective`` stage trains, so every process takes part;
    the others run on the main process while the rest wait."""

    name: str
    run: Callable[[Run], None]
    artifact: str
    collective: bool = False

    def done(self, run: Run) -> bool:
        return run.path(self.artifact).exists()


STAGES: list[Stage] = [
    Stage("data", stage_data, "data_splits.json"),
    Stage("pretrain", stage_pretrain, "pretrain", collective=True),
    Stage("teacher", stage_teacher, "teacher", collective=True),
    Stage("results", stage_results, "results.json"),
]
STAGE_NAMES = [s.name for s in STAGES]


def run_pipeline(cfg: ExperimentConfig, out: Path, until: str | None = None) -> Run:
    """Run the stages in order up to ``until`` (inclusive), skipping finished ones."""
    if until is not None and until not in STAGE_NAMES:
        raise UserError(f"unknown stage {until!r}; stages: {', '.join(STAGE_NAMES)}")
    state = PartialState()
    with state.main_process_first():
        run = Run(cfg, out)
    for stage in STAGES:
        if stage.done(run) and stage.name != "results":
            if state.is_main_process:
                console.print(f"[dim]stage {stage.name}: done, skipped[/dim]")
        elif stage.collective or state.is_main_process:
            if state.is_main_process:
                console.print(f"[bold]stage {stage.name}[/bold]")
            started = time.perf_counter()
            stage.run(run)
            if stage.name != "results" and state.is_main_process:
                run.record_time(stage.name, time.perf_counter() - started)
        state.wait_for_everyone()
        if stage.name == until:
            break
    return run
