"""``moekd scan`` and ``moekd export``; registered on the app in ``moekd.cli``.

Exit codes of ``scan``: 0 clean (or only findings below ``--fail-on``), 1 findings at or above
``--fail-on``, 2 usage errors (click's own, and :class:`~moekd.errors.UserError` via ``main``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from moekd.deploy.discover import DEFAULT_INCLUDE, DEFAULT_MAX_BYTES
from moekd.deploy.scan import DEFAULT_ERROR_THRESHOLD, DEFAULT_THRESHOLD, LEVELS


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(StrEnum):
    warning = "warning"
    error = "error"
    never = "never"


class BackendChoice(StrEnum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"
    onnx_int8 = "onnx-int8"


_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def check_model_source(source: str, what: str = "model") -> str:
    """Fail fast, with one line, on a model path that is not there (instead of asking the hub
    for it, or complaining about another flag)."""
    from moekd.errors import UserError

    if not Path(source).exists() and not _HUB_ID.fullmatch(source):
        raise UserError(f"{source}: no such {what} folder")
    return source


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def should_fail(worst: str | None, fail_on: str) -> bool:
    """Whether the worst finding's level reaches ``fail_on`` (``never`` never fails)."""
    if worst is None or fail_on == FailOn.never.value:
        return False
    return LEVELS.index(worst) >= LEVELS.index(fail_on)


def scan(
    paths: Annotated[list[Path], typer.Argument(help="C files or folders to scan")],
    model: Annotated[str, typer.Option("--model", "-m", help="model folder, .onnx or hub id")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="report format")
    ] = OutputFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the report here (not stdout)")
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="report functions with p(vulnerable) at or above this")
    ] = DEFAULT_THRESHOLD,
    error_threshold: Annotated[
        float, typer.Option(help="findings at or above this are errors, below it warnings")
    ] = DEFAULT_ERROR_THRESHOLD,
    fail_on: Annotated[
        FailOn, typer.Option(help="exit 1 when a finding reaches this level")
    ] = FailOn.warning,
    include: Annotated[
        list[str] | None,
        typer.Option(help="glob of files to scan in folders (repeatable; default *.c, *.h)"),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="glob of files or folders to leave out (repeatable)")
    ] = None,
    gitignore: Annotated[
        bool, typer.Option(help="skip files that git ignores (needs a git work tree)")
    ] = False,
    max_bytes: Annotated[
        int, typer.Option(help="skip files larger than this many bytes")
    ] = DEFAULT_MAX_BYTES,
    root: Annotated[
        Path | None, typer.Option(help="report paths relative to this folder (default: cwd)")
    ] = None,
    backend: Annotated[
        BackendChoice, typer.Option(help="auto: torch weights if present, else model.onnx")
    ] = BackendChoice.auto,
    batch_size: Annotated[int, typer.Option(min=1, help="functions per model call")] = 32,
) -> None:
    """Find C functions under PATHS that the model scores as vulnerable.

    Exit code 0: clean; 1: findings at or above --fail-on; 2: usage error.
    Unreadable, binary and huge files are skipped with a warning; nothing is executed.
    """
    from moekd.deploy.formats import render
    from moekd.deploy.loading import load_classifier, model_info
    from moekd.deploy.scan import ScanOptions, scan_paths
    from moekd.errors import UserError
    from moekd.io import atomic_write_text, check_writable_file

    options = ScanOptions(
        include=tuple(include) if include else DEFAULT_INCLUDE,
        exclude=tuple(exclude or ()),
        gitignore=gitignore,
        max_bytes=max_bytes,
        threshold=threshold,
        error_threshold=error_threshold,
    )
    options.check()
    for path in paths:  # fail before the (slow) model load
        if not path.exists():
            raise UserError(f"{path}: no such file or folder")
    if output is not None:
        check_writable_file(output)
    classifier = load_classifier(model, backend.value, batch_size=batch_size)
    result = scan_paths(paths, classifier, model_info(classifier, model), options, root)
    for message in result.messages():
        _warn(message)
    report = render(result, output_format.value)
    if output is None:
        typer.echo(report, nl=False)
    else:
        atomic_write_text(output, report)
        typer.echo(
            f"{len(result.findings)} finding(s) in {result.functions_scanned} function(s); "
            f"report: {output}",
            err=True,
        )
    if should_fail(result.worst_level(), fail_on.value):
        raise typer.Exit(1)


def export(
    model: Annotated[str, typer.Option("--model", "-m", help="model folder or hub id")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="ONNX file (default: MODEL/model.onnx; for a hub id ./NAME.onnx)"
        ),
    ] = None,
    int8: Annotated[
        bool, typer.Option(help="also write a dynamic-INT8 copy beside it (*.int8.onnx)")
    ] = False,
    optimize: Annotated[
        bool, typer.Option(help="fuse attention with onnxruntime (faster; ORT-only graph)")
    ] = True,
) -> None:
    """Export a classifier to ONNX (dynamic batch and length), optionally INT8-quantised."""
    from moekd.deploy.onnx_export import export_onnx
    from moekd.errors import UserError
    from moekd.io import check_writable_file

    check_model_source(model)
    local = Path(model)
    if local.exists() and not local.is_dir():
        raise UserError(f"{model}: not a model folder (export takes a Hugging Face folder)")
    if out is None:
        out = local / "model.onnx" if local.is_dir() else Path(f"{model.split('/')[-1]}.onnx")
    check_writable_file(out)
    result = export_onnx(model, out, int8=int8, optimize=optimize)
    typer.echo(
        f"wrote {result.onnx_path} (max |logit - torch| = {result.max_abs_logit_diff:.1e}, "
        f"{result.fused_attention} fused attention layers)"
    )
    if result.int8_path is not None:
        typer.echo(f"wrote {result.int8_path} (dynamic INT8)")
