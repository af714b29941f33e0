"""``moekd scan`` and ``moekd export``; registered on the app in ``moekd.cli``.

Exit codes of ``scan``: 0 clean (or only findings below ``--fail-on``), 1 findings at or above
``--fail-on``, 2 usage errors (click's own, and :class:`~moekd.errors.UserError` via ``main``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moekd.deploy.discover import DEFAULT_INCLUDE, DEFAULT_MAX_BYTES
from moekd.deploy.scan import (
    DEFAULT_ERROR_THRESHOLD,
    DEFAULT_MAX_FINDINGS,
    DEFAULT_THRESHOLD,
    LEVELS,
)
from moekd.deploy.settings import Settings

if TYPE_CHECKING:
    from moekd.deploy.scan import ScanResult


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
    _note(f"warning: {message}")


def _note(message: str) -> None:
    """One line on stderr; a file name's control characters cannot start another."""
    from moekd.deploy.textsafe import escape_controls

    typer.echo(escape_controls(message), err=True)


def should_fail(worst: str | None, fail_on: str) -> bool:
    """Whether the worst finding's level reaches ``fail_on`` (``never`` never fails)."""
    if worst is None or fail_on == FailOn.never.value:
        return False
    return LEVELS.index(worst) >= LEVELS.index(fail_on)


def _pick(flag: object, settings: Settings, key: str, default: object = None) -> Any:
    """A flag that was given, else the ``[tool.moekd]`` value, else ``default``."""
    if flag is not None:
        return flag.value if isinstance(flag, StrEnum) else flag
    return settings.get(key, default)


def scan(
    paths: Annotated[list[Path], typer.Argument(help="C files or folders to scan")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="model folder, .onnx or hub id (default: model in \\[tool.moekd], else the "
            "shipped detector)",
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat | None, typer.Option("--format", "-f", help="report format (default: text)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the report here (not stdout)")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="report functions with p(vulnerable) at or above this "
            f"(default: the model's stored threshold, else {DEFAULT_THRESHOLD})"
        ),
    ] = None,
    error_threshold: Annotated[
        float | None,
        typer.Option(
            help="findings at or above this are errors, below it warnings "
            f"(default: {DEFAULT_ERROR_THRESHOLD})"
        ),
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(help="exit 1 when a finding reaches this level (default: warning)"),
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option(help="glob of files to scan in folders (repeatable; default *.c, *.h)"),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="glob of files or folders to leave out (repeatable)")
    ] = None,
    gitignore: Annotated[
        bool | None,
        typer.Option(
            "--gitignore/--no-gitignore",
            help="skip files that git ignores, in a git work tree (default: no)",
        ),
    ] = None,
    max_bytes: Annotated[
        int | None,
        typer.Option(help=f"skip files larger than this many bytes (default: {DEFAULT_MAX_BYTES})"),
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option(
            help="report paths relative to this folder, and look for pyproject.toml from it "
            "(default: cwd)"
        ),
    ] = None,
    backend: Annotated[
        BackendChoice | None,
        typer.Option(help="auto (default): torch weights if present, else model.onnx"),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="functions per model call (default: 32)")
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="an earlier SARIF or JSON report: report only findings not in it"),
    ] = None,
    changed_since: Annotated[
        str | None,
        typer.Option(
            metavar="REV",
            help="scan only files git says changed since REV's merge base with HEAD "
            "(committed, staged, unstaged or untracked)",
        ),
    ] = None,
    cache: Annotated[
        bool | None,
        typer.Option(
            "--cache/--no-cache", help="reuse scores of unchanged functions (default: cache)"
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="where the score cache lives (default: $XDG_CACHE_HOME/moekd)"),
    ] = None,
    max_findings: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"list at most this many findings, the highest scored (default: "
            f"{DEFAULT_MAX_FINDINGS})",
        ),
    ] = None,
) -> None:
    """Find C functions under PATHS that the model scores as vulnerable.

    Exit code 0: clean; 1: findings at or above --fail-on; 2: usage error (also: no files to
    scan). Unset flags come from \\[tool.moekd] in pyproject.toml. Unreadable, binary and huge
    files are skipped with a warning; nothing is executed.
    """
    from dataclasses import replace

    from moekd.deploy.baseline import load_baseline
    from moekd.deploy.changed import changed_files
    from moekd.deploy.detector import open_detector
    from moekd.deploy.discover import discover
    from moekd.deploy.formats import render
    from moekd.deploy.scan import ScanOptions, add_discovery, scan_files
    from moekd.deploy.settings import find_settings
    from moekd.errors import UserError
    from moekd.io import atomic_write_text, check_writable_file

    settings = find_settings(root or Path.cwd())
    source = _pick(model, settings, "model")
    chosen_threshold = _pick(threshold, settings, "threshold")
    baseline_path = _pick(baseline, settings, "baseline")
    options = ScanOptions(
        include=tuple(include) if include else settings.get("include", DEFAULT_INCLUDE),
        exclude=tuple(exclude) if exclude else settings.get("exclude", ()),
        gitignore=_pick(gitignore, settings, "gitignore", False),
        max_bytes=_pick(max_bytes, settings, "max-bytes", DEFAULT_MAX_BYTES),
        threshold=DEFAULT_THRESHOLD if chosen_threshold is None else chosen_threshold,
        error_threshold=_pick(
            error_threshold, settings, "error-threshold", DEFAULT_ERROR_THRESHOLD
        ),
        max_findings=_pick(max_findings, settings, "max-findings", DEFAULT_MAX_FINDINGS),
        baseline=load_baseline(baseline_path) if baseline_path is not None else frozenset(),
    )
    options.check()
    fmt = _pick(output_format, settings, "format", OutputFormat.text.value)
    fail_level = _pick(fail_on, settings, "fail-on", FailOn.warning.value)
    for path in paths:  # fail before the (slow) model load
        if not path.exists():
            raise UserError(f"{path}: no such file or folder")
    if output is not None:
        check_writable_file(output)
    found = discover(paths, options.include, options.exclude, options.gitignore)
    if not found.files:
        raise UserError(
            f"no files to scan in {', '.join(str(p) for p in paths)} "
            f"(--include {' '.join(options.include)}; check the paths and --include)"
        )
    files = found.files
    if changed_since is not None:
        changed = changed_files(paths, changed_since)
        files = [f for f in files if f.resolve() in changed]
        _note(f"{len(files)} of {len(found.files)} file(s) changed since {changed_since}")
    detector = open_detector(
        source,
        _pick(backend, settings, "backend", BackendChoice.auto.value),
        batch_size=_pick(batch_size, settings, "batch-size", 32),
        cache=_pick(cache, settings, "cache", True),
        cache_dir=_pick(cache_dir, settings, "cache-dir", None),
    )
    found.warnings.extend(detector.warnings)
    if chosen_threshold is None and detector.stored_threshold is not None:
        options = replace(options, threshold=detector.stored_threshold)
    with detector, _ScanProgress(len(files)) as progress:
        result = scan_files(files, detector.scorer, detector.info, options, root, progress.update)
    add_discovery(result, found)
    for message in result.messages():
        _warn(message)
    report = render(result, fmt)
    if output is None:
        typer.echo(report, nl=False)
    else:
        atomic_write_text(output, report)
        typer.echo(
            f"{sum(result.counts.values())} finding(s) in {result.functions_scanned} "
            f"function(s); report: {output}",
            err=True,
        )
    if should_fail(result.worst_level(), fail_level):
        raise typer.Exit(1)


class _ScanProgress:
    """Files done, functions scored and findings so far on stderr (a bar on a terminal, a
    line every 30 s in a CI log), via :class:`moekd.progress.LiveProgress`."""

    def __init__(self, files: int) -> None:
        from moekd.progress import LiveProgress

        self.result: ScanResult | None = None
        self.bar = LiveProgress("scan", files, unit="files", details=self._details)

    def _details(self) -> str:
        r = self.result
        if r is None:
            return ""
        return f"{r.functions_scanned} functions, {sum(r.counts.values())} findings"

    def update(self, files_done: int, result: ScanResult) -> None:
        self.result = result
        self.bar.advance(files_done - self.bar.completed)

    def __enter__(self) -> _ScanProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)


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
