"""The ``moekd`` command: demo, run, stage commands, evaluate.

User errors (bad files, bad configs, bad flags) print one line and exit 2, never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from moekd.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Distil big code models into tiny, robust C vulnerability detectors (MoEKD).",
)
console = Console(stderr=True)

OutOption = Annotated[Path, typer.Option("--out", "-o", help="run directory (resumable)")]
ConfigArg = Annotated[str, typer.Argument(help="config YAML, or a shipped name: demo, devign-cpu")]


def _quiet_libraries() -> None:
    """Keep the terminal for moekd's own progress: silence library chatter and bars."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Idle OpenMP threads sleep instead of spinning: on a shared CPU (CI, a laptop) spinning
    # threads of torch starve each other and everything else.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    logging.getLogger("accelerate").setLevel(logging.ERROR)


WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="processes for independent units: experts, AVATAR samples, students, attacks "
        "(default: one per core on a CPU-only run, 1 under accelerate launch or with a GPU)",
    ),
]


def _run(
    config: str,
    out: Path,
    until: str | None,
    seeds: int | None = None,
    workers: int | None = None,
) -> None:
    from accelerate import PartialState

    from moekd.config import load_config
    from moekd.pipeline import run_pipeline

    cfg = load_config(config)
    if seeds is not None:
        cfg = cfg.first_seeds(seeds)
    ctx = run_pipeline(cfg, out, until, workers)
    if not PartialState().is_main_process:
        return
    report = ctx.layout.report
    if report.exists() and until in (None, "results"):
        typer.echo(report.read_text(encoding="utf-8"))
    console.print(f"run directory: {ctx.root}")


@app.command()
def demo(
    out: OutOption = Path("runs/demo"),
    seeds: Annotated[
        int | None,
        typer.Option(min=1, max=3, help="distil each student with only the first N seeds"),
    ] = None,
    workers: WorkersOption = None,
) -> None:
    """Run the whole pipeline on the built-in synthetic corpus: teacher, experts, router, and
    every method's students over 3 seeds with intervals (--seeds 1: the quick version)."""
    _run("demo", out, None, seeds, workers)


@app.command()
def run(
    config: ConfigArg,
    out: OutOption,
    until: str | None = typer.Option(None),
    workers: WorkersOption = None,
) -> None:
    """Run every stage of CONFIG into the run directory, skipping finished stages."""
    _run(config, out, until, workers=workers)


@app.command()
def pretrain(config: ConfigArg, out: OutOption) -> None:
    """MLM-pretrain the scratch teacher of CONFIG (and the stages before it)."""
    _run(config, out, "pretrain")


@app.command("train-teacher")
def train_teacher(config: ConfigArg, out: OutOption) -> None:
    """Fine-tune CONFIG's teacher on the labeled half; saves RUN/teacher (Hugging Face)."""
    _run(config, out, "teacher")


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="model folder or hub id")],
    data: Annotated[str, typer.Option(help="JSONL, Devign .json, folder of C files, or hub:")],
    out: Annotated[Path | None, typer.Option(help="write the metrics here as JSON")] = None,
    batch_size: int = 32,
    backend: Annotated[str, typer.Option(help="auto, torch, onnx or onnx-int8")] = "auto",
) -> None:
    """Accuracy, precision, recall and F1 of a saved classifier (Hugging Face folder, hub id
    or ONNX export) on a labelled data file."""
    import json

    from moekd.data.loaders import load_samples
    from moekd.evaluation.evaluate import evaluate_folder
    from moekd.io import atomic_write_json

    samples = load_samples(data)
    metrics = evaluate_folder(model, samples, batch_size=batch_size, backend=backend)
    if out is not None:
        atomic_write_json(out, metrics)
    typer.echo(json.dumps(metrics, indent=2))


# ---- commands defined beside the code they drive -----------------------------------------
# (one registration line each; keep the two blocks apart so parallel edits don't collide)
# attack commands:
from moekd.attacks.commands import attack as _attack  # noqa: E402, I001

app.command("attack")(_attack)
# deploy commands:
from moekd.deploy.commands import export as _export, scan as _scan  # noqa: E402, I001

app.command("scan")(_scan)
app.command("export")(_export)


def main() -> None:
    """Console entry point: turn user errors into one line on stderr and exit code 2."""
    _quiet_libraries()
    try:
        app()
    except UserError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted; rerun the same command to resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
