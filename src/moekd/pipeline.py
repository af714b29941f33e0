"""The experiment as resumable stages over a run directory.

Each stage writes its artifact atomically and is skipped when the artifact exists; stages that
train resume from their last checkpoint when killed. Each finished stage records a hash of the
config sections it read (``RUN/stages/NAME.json``): changing a setting a finished stage depended
on is refused instead of silently mixing two experiments, while adding later stages to a config
(or changing only their settings) reuses what is done.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from accelerate import PartialState
from rich.console import Console

from moekd.config import ExperimentConfig
from moekd.errors import UserError
from moekd.io import atomic_write_json
from moekd.methods.knowledge import stage_knowledge
from moekd.methods.students import stage_students
from moekd.parallel import shutdown_workers
from moekd.run import Run
from moekd.stages.mixture import stage_experts, stage_partition, stage_router
from moekd.stages.results import stage_results
from moekd.stages.robustness import stage_attacks
from moekd.stages.teacher import stage_data, stage_pretrain, stage_teacher

console = Console(stderr=True)


@dataclass(frozen=True)
class Stage:
    """A step of the pipeline. A ``collective`` stage trains, so every process takes part;
    the others run on the main process while the rest wait."""

    name: str
    run: Callable[[Run], None]
    artifact: str | None  # None: always runs; its units skip what they finished themselves
    depends: tuple[str, ...] = ()
    collective: bool = False

    def marker(self, run: Run) -> Path:
        return run.path("stages", f"{self.name}.json")

    def done(self, run: Run) -> bool:
        """Finished with the same settings; finished with other settings is an error."""
        if self.artifact is None or not run.path(self.artifact).exists():
            return False
        marker = self.marker(run)
        if marker.exists():
            recorded = json.loads(marker.read_text())["config_sha256"]
            if recorded != run.section_hash(self.depends):
                raise UserError(
                    f"{run.root}: stage {self.name!r} finished with other settings of "
                    f"{', '.join(self.depends)}; use a new --out folder (or delete this one)"
                )
        return True

    def mark_done(self, run: Run, seconds: float) -> None:
        record = {"config_sha256": run.section_hash(self.depends), "seconds": round(seconds, 2)}
        atomic_write_json(self.marker(run), record)


DATA = ("data",)
PRETRAIN = (
    "seed",
    "data",
    "teacher.preset",
    "teacher.model",
    "teacher.max_length",
    "teacher.vocab_size",
    "teacher.arch",
    "teacher.pretrain",
)
TEACHER = ("seed", "data", "teacher")
PARTITION = (
    *TEACHER,
    "experts.k",
    "experts.partition",
    "experts.embed_with",
    "experts.min_size",
    "router.fraction",
)
EXPERTS = (*TEACHER, "experts", "router.fraction")
ROUTER = (*TEACHER, "experts", "router")
KNOWLEDGE = ROUTER
STAGES: list[Stage] = [
    Stage("data", stage_data, "data_splits.json", DATA),
    Stage("pretrain", stage_pretrain, "pretrain", PRETRAIN, collective=True),
    Stage("teacher", stage_teacher, "teacher", TEACHER, collective=True),
    Stage("partition", stage_partition, "partition", PARTITION),
    Stage("experts", stage_experts, "experts/summary.json", EXPERTS, collective=True),
    Stage("router", stage_router, "router", ROUTER, collective=True),
    Stage("knowledge", stage_knowledge, "knowledge", KNOWLEDGE),
    Stage("students", stage_students, None, collective=True),
    Stage("attacks", stage_attacks, None, collective=True),
    Stage("results", stage_results, None),
]
STAGE_NAMES = [s.name for s in STAGES]


def run_pipeline(
    cfg: ExperimentConfig, out: Path, until: str | None = None, workers: int | None = None
) -> Run:
    """Run the stages in order up to ``until`` (inclusive), skipping finished ones; ``workers``:
    processes for independent units (None: automatic, see :mod:`moekd.parallel`)."""
    if until is not None and until not in STAGE_NAMES:
        raise UserError(f"unknown stage {until!r}; stages: {', '.join(STAGE_NAMES)}")
    state = PartialState()
    run = Run(cfg, out, workers)
    if state.is_main_process:
        run.save_config()
    try:
        for stage in STAGES:
            if stage.done(run):
                if state.is_main_process:
                    console.print(f"[dim]stage {stage.name}: done, skipped[/dim]")
            elif stage.collective or state.is_main_process:
                if state.is_main_process:
                    console.print(f"[bold]stage {stage.name}[/bold]")
                started = time.perf_counter()
                stage.run(run)
                if stage.artifact is not None and state.is_main_process:
                    stage.mark_done(run, time.perf_counter() - started)
            state.wait_for_everyone()
            if stage.name == until:
                break
    finally:
        shutdown_workers()
    return run
