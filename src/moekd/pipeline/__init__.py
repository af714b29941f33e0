"""The experiment as an ordered list of stages, each a sequence of steps that declare units.

:func:`run_pipeline` owns the run directory and its processes: it locks the folder, checks every
recorded unit against the config before writing anything, then walks the stages, executing
each step's units through :mod:`moekd.pipeline.execute` and recording each stage's wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from accelerate import PartialState
from rich.console import Console

from moekd.config import ExperimentConfig
from moekd.errors import UserError
from moekd.io import atomic_write_json, atomic_write_text
from moekd.parallel import shutdown_workers, worker_count
from moekd.pipeline.execute import check_records, execute, unfinished
from moekd.runlock import run_lock
from moekd.stages import (
    attacks,
    experts,
    fidelity,
    knowledge,
    mixture,
    partition,
    references,
    results,
    router,
    search,
    students,
    teacher,
    variants,
)
from moekd.stages.context import RunContext
from moekd.stages.unit import Unit

console = Console(stderr=True)

Step = Callable[[RunContext], list[Unit]]


@dataclass(frozen=True)
class Stage:
    """A named part of the experiment, made of steps. Each step's units are independent of
    each other; a step may read what the steps before it wrote (it declares its units once
    they have run)."""

    name: str
    steps: tuple[Step, ...]


STAGES: list[Stage] = [
    Stage("data", (teacher.data_units, variants.vocabulary_units)),
    Stage("references", (references.reference_units,)),
    Stage(
        "pretrain",
        (
            teacher.tokenizer_units,
            teacher.pretrain_units,
            teacher.standin_tokenizer_units,
            teacher.standin_units,
        ),
    ),
    Stage("teacher", (teacher.teacher_units,)),
    Stage("partition", (mixture.embedding_units, partition.partition_units)),
    Stage("experts", (experts.expert_units,)),
    Stage("router", (mixture.expert_logit_units, router.router_units)),
    Stage("knowledge", (knowledge.knowledge_units, variants.student_variant_units)),
    Stage(
        "search",
        (
            search.vocab_cap_units,
            search.compressor_units,
            search.candidate_units,
            search.sample_tokenizer_units,
            search.flip_set_units,
            search.sample_units,
            search.reused_sample_units,
            search.search_units,
        ),
    ),
    Stage("students", (students.tokenizer_units, students.student_units)),
    Stage("fidelity", (fidelity.variant_units, fidelity.label_units)),
    Stage(
        "attacks",
        (
            attacks.vocabulary_units,
            attacks.substitute_units,
            attacks.victim_units,
            attacks.attack_units,
        ),
    ),
    Stage("results", (results.results_units, results.plot_units, results.report_units)),
]
STAGE_NAMES = [s.name for s in STAGES]


def _run_stage(ctx: RunContext, index: int, stage: Stage, workers: int) -> None:
    main = PartialState().is_main_process
    started = time.perf_counter()
    computed = fanned_out = 0
    for step in stage.steps:
        todo = unfinished(ctx, step(ctx))
        if todo and not computed and main:
            console.print(f"[bold]stage {stage.name}[/bold]")
        fanned_out += execute(ctx, todo, workers, stage.name)
        computed += len(todo)
    if not main:
        return
    if not computed:
        console.print(f"[dim]stage {stage.name}: done, skipped[/dim]")
        return
    record = {
        "index": index,
        "seconds": round(time.perf_counter() - started, 2),
        "units": computed,
        "fanned_out": fanned_out,  # of them, in worker processes (their own seconds overlap)
        "workers": workers,
    }
    atomic_write_json(ctx.layout.stage_record(stage.name), record)


def run_pipeline(
    cfg: ExperimentConfig, out: Path, until: str | None = None, workers: int | None = None
) -> RunContext:
    """Run the stages in order up to ``until`` (inclusive), skipping finished units.
    ``workers``: processes for independent units (None: automatic, see :mod:`moekd.parallel`);
    a fixed count gives the same results whether a run is resumed or not."""
    if until is not None and until not in STAGE_NAMES:
        raise UserError(f"unknown stage {until!r}; stages: {', '.join(STAGE_NAMES)}")
    state = PartialState()
    ctx = RunContext(cfg, out)
    ctx.check()
    count = worker_count(workers, cfg.execution.max_auto_workers)
    with run_lock(ctx.layout.lock, enabled=state.is_main_process):
        check_records(ctx)
        if state.is_main_process:
            atomic_write_text(ctx.layout.config, cfg.dump())
        try:
            for index, stage in enumerate(STAGES):
                _run_stage(ctx, index, stage, count)
                state.wait_for_everyone()
                if stage.name == until:
                    break
        finally:
            shutdown_workers()
    return ctx
