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
from rich.markup import escape

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
DataRootOption = Annotated[
    Path | None,
    typer.Option(
        help="resolve the config's relative data paths against DIR first "
        "(default: $MOEKD_DATA_ROOT, then the config's folder, then the working directory)",
        metavar="DIR",
    ),
]


def _quiet_libraries() -> None:
    """Keep the terminal for moekd's own progress: silence library chatter and bars, without
    importing the libraries (a scan with an ONNX model never loads transformers or torch)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Idle OpenMP threads sleep instead of spinning: on a shared CPU (CI, a laptop) spinning
    # threads of torch starve each other and everything else.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Read when transformers and huggingface_hub are first imported, here and in workers.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    transformers = sys.modules.get("transformers")
    if transformers is not None:  # imported already (tests, `python -c`): tell it directly
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    logging.getLogger("accelerate").setLevel(logging.ERROR)


#: Top-level modules that only the training extras install: a command that imports one of
#: them on a light install (`pip install moekd`) is told which extra to add.
TRAINING_MODULES = frozenset(
    {"torch", "transformers", "accelerate", "safetensors", "sklearn", "scipy", "pymoo", "pydantic"}
    | {"yaml", "matplotlib", "onnx"}
)


def _installed_version() -> str:
    """The installed distribution's version; a bare source tree falls back to the package's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moekd")
    except PackageNotFoundError:
        from moekd.version import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"moekd {_installed_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version, exit"
        ),
    ] = False,
) -> None:
    """Options before the command name (``moekd --version``)."""


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
    data_root: Path | None = None,
) -> None:
    from moekd.io import check_writable_dir
    from moekd.layout import RunLayout
    from moekd.runlock import refuse_if_locked

    check_writable_dir(out)
    refuse_if_locked(RunLayout(out).lock)

    from accelerate import PartialState

    from moekd.config import load_config
    from moekd.pipeline import run_pipeline

    cfg = load_config(config, data_root=data_root, require_data=True)
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
    data_root: DataRootOption = None,
) -> None:
    """Run every stage of CONFIG into the run directory, skipping finished stages."""
    _run(config, out, until, workers=workers, data_root=data_root)


@app.command()
def pretrain(config: ConfigArg, out: OutOption, data_root: DataRootOption = None) -> None:
    """MLM-pretrain the scratch teacher of CONFIG (and the stages before it)."""
    _run(config, out, "pretrain", data_root=data_root)


@app.command("train-teacher")
def train_teacher(config: ConfigArg, out: OutOption, data_root: DataRootOption = None) -> None:
    """Fine-tune CONFIG's teacher on the labeled half; saves RUN/teacher (Hugging Face)."""
    _run(config, out, "teacher", data_root=data_root)


def _check_hub_model(model: str, backend: str) -> None:
    """A hub id that cannot load here (offline, not cached): one line before the slow imports."""
    from moekd.deploy.loading import resolve_backend
    from moekd.models.hub import hub_load_options

    if resolve_backend(model, backend)[0] == "torch" and not Path(model).exists():
        hub_load_options(model)


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="model folder or hub id")],
    data: Annotated[str, typer.Option(help="JSONL, Devign .json, folder of C files, or hub:")],
    out: Annotated[Path | None, typer.Option(help="write the metrics here as JSON")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="functions per model call")] = 32,
    backend: Annotated[str, typer.Option(help="auto, torch, onnx or onnx-int8")] = "auto",
) -> None:
    """Accuracy, precision, recall and F1 of a saved classifier (Hugging Face folder, hub id
    or ONNX export) on a labelled data file."""
    _check_hub_model(model, backend)
    import json

    from moekd.data.loaders import load_samples
    from moekd.evaluation.evaluate import evaluate_folder
    from moekd.io import atomic_write_json, check_writable_file

    if out is not None:
        check_writable_file(out)
    samples = load_samples(data)
    metrics = evaluate_folder(model, samples, batch_size=batch_size, backend=backend)
    if out is not None:
        atomic_write_json(out, metrics)
    typer.echo(json.dumps(metrics, indent=2))


@app.command()
def transform(
    data: Annotated[
        str | None, typer.Option(help="labelled JSONL, Devign .json or folder of C files")
    ] = None,
    relation: Annotated[str | None, typer.Option(help="a transformation (see --list)")] = None,
    out: Annotated[Path | None, typer.Option(help="JSONL of the variants")] = None,
    seed: Annotated[int, typer.Option(help="seed of the random choices (names, sites)")] = 0,
    list_all: Annotated[
        bool, typer.Option("--list", help="print each transformation's name and summary")
    ] = False,
) -> None:
    """Write semantics-preserving variants of every function in DATA under one RELATION, in
    the data format with ``orig_idx`` and ``relation``; functions where it does not apply are
    left out (the count goes to stderr)."""
    import random

    from moekd.cparse.transforms import TRANSFORMATIONS

    if list_all:
        for item in TRANSFORMATIONS.values():
            typer.echo(f"{item.name}\t{item.summary}")
        return
    if data is None or relation is None or out is None:
        raise UserError("moekd transform needs --data, --relation and --out (or --list)")
    if relation not in TRANSFORMATIONS:
        known = ", ".join(TRANSFORMATIONS)
        raise UserError(f"unknown relation {relation!r}; choose one of {known}")
    from moekd.cparse.transforms import transform as apply
    from moekd.data.loaders import load_samples, write_jsonl
    from moekd.data.samples import CodeSample
    from moekd.io import check_writable_file

    check_writable_file(out)
    samples = load_samples(data)
    variants = []
    for sample in samples:
        variant = apply(sample.code, relation, random.Random(f"{seed}:{sample.idx}"))
        if variant is not None:
            extra = {**sample.extra, "orig_idx": sample.idx, "relation": relation}
            idx = f"{sample.idx}:{relation}"
            variants.append(CodeSample(idx, variant.code, sample.label, sample.project, extra))
    write_jsonl(variants, out)
    typer.echo(f"{out}: {len(variants)} of {len(samples)} functions transformed", err=True)


@app.command()
def publish(
    run_dir: Annotated[Path, typer.Argument(help="a pipeline run folder (with results.json)")],
    out: Annotated[Path, typer.Option(help="the folder to write (replaced if it exists)")],
) -> None:
    """Copy a run's report, results.json, plots and config, with every attack's per-example
    records minus the adversarial code, to OUT (to commit or share); the records' ASRs are
    counted again and checked against results.json."""
    from moekd.evaluation.publish import publish_run

    counted = publish_run(run_dir, out)
    for item in counted:
        typer.echo(f"{item.model} {item.attack}: {item.succeeded}/{item.attacked} = {item.asr:.1%}")
    typer.echo(f"{out}: {len(counted)} (model, attack) ASRs recounted from the records, all match")


@app.command("package-model")
def package_model(
    run_dir: Annotated[Path, typer.Argument(help="the pipeline run that trained the student")],
    student: Annotated[str, typer.Option(help="a student of the run: moekd_robust-1.5mb/seed-42")],
    valid: Annotated[Path, typer.Option(help="labelled data the threshold is chosen on")],
    test: Annotated[Path, typer.Option(help="labelled data the card's figures are measured on")],
    out: Annotated[Path, typer.Option(help="the folder to write (replaced if it exists)")],
    precision: Annotated[
        float, typer.Option(help="the validation precision the shipped threshold must reach")
    ] = 0.6,
    name: Annotated[str, typer.Option(help="the model's name in its card")] = "moekd detector",
    windows: Annotated[
        bool,
        typer.Option(
            help="score long functions over windows as moekd scan does (--no-windows: the "
            "first window only, as training did)"
        ),
    ] = True,
) -> None:
    """Export STUDENT to INT8 ONNX with its threshold and labels, and write its model card
    (README.md, card.json): test accuracy with intervals, calibration, the run's attacks."""
    from moekd.evaluation.model_card import CardInputs, build_card

    card = build_card(CardInputs(run_dir, student, valid, test, precision, name, windows), out)
    at = card["test"]["at_threshold"]
    typer.echo(
        f"{out}: {card['size_mb']:.2f} MB, threshold {card['threshold']['value']:.4f}, test "
        f"accuracy {at['accuracy']:.1%}, precision {at['precision']:.1%}, recall {at['recall']:.1%}"
    )


# ---- commands defined beside the code they drive -----------------------------------------
# (one registration line each; keep the two blocks apart so parallel edits don't collide)
# attack commands:
from moekd.attacks.commands import attack as _attack  # noqa: E402, I001

app.command("attack")(_attack)
# deploy commands:
from moekd.deploy.commands import export as _export, scan as _scan  # noqa: E402, I001

app.command("scan")(_scan)
app.command("export")(_export)


def _error(message: str) -> None:
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def main() -> None:
    """Console entry point: user errors and usage errors (a bad flag) become one line on
    stderr and exit code 2."""
    _quiet_libraries()
    try:
        code = app(standalone_mode=False)
    except UserError as exc:
        _error(str(exc))
        sys.exit(exc.exit_code)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in TRAINING_MODULES:
            raise
        command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
        _error(
            f"moekd {command}: needs the training extras ({missing} is not installed): "
            "pip install 'moekd[train]'"
        )
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        # click's errors, matched by shape: typer >= 0.22 vendors its own click.
        code = getattr(exc, "exit_code", None)
        if not (hasattr(exc, "format_message") and isinstance(code, int)):
            raise
        if type(exc).__name__ != "NoArgsIsHelpError":  # `moekd` alone has printed the help
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            _error(f"{exc.format_message()}{hint}")
        sys.exit(code)
    if code == 130:  # typer turns Ctrl-C into exit code 130
        console.print("interrupted; rerun the same command to resume")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
