"""The Python API: what a notebook or a script calls, with the same defaults as the CLI.

``import moekd`` stays light; these load their dependencies when called, so scanning with an
ONNX model needs only the light install and :func:`run` the training extras.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moekd.deploy.scan import ScanResult
    from moekd.models.classifier import CodeClassifier


def load_classifier(
    model: str | Path | None = None, backend: str = "auto", batch_size: int = 32
) -> CodeClassifier:
    """A classifier for a model folder, an ``.onnx`` file or a hub id (None: the shipped
    detector); ``predict_proba(codes)`` gives [p(safe), p(vulnerable)] per function."""
    from moekd.deploy import loading
    from moekd.deploy.default_model import default_model

    return loading.load_classifier(model or default_model(), backend, batch_size=batch_size)


def scan(
    paths: str | Path | Sequence[str | Path],
    model: str | Path | None = None,
    *,
    threshold: float | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    cache: bool = True,
) -> ScanResult:
    """Scan C files and folders as ``moekd scan`` does: whole functions over windows, the
    model's stored threshold unless ``threshold`` is given, scores cached by content.
    ``result.findings`` are ranked by score; ``moekd.deploy.formats.render(result, "sarif")``
    writes a report."""
    from dataclasses import replace

    from moekd.deploy.detector import open_detector
    from moekd.deploy.discover import DEFAULT_INCLUDE, discover
    from moekd.deploy.scan import DEFAULT_THRESHOLD, ScanOptions, add_discovery, scan_files

    targets = [paths] if isinstance(paths, str | Path) else list(paths)
    options = ScanOptions(
        include=tuple(include) if include else DEFAULT_INCLUDE,
        exclude=tuple(exclude),
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
    )
    options.check()
    found = discover(targets, options.include, options.exclude, options.gitignore)
    with open_detector(model, cache=cache) as detector:
        if threshold is None and detector.stored_threshold is not None:
            options = replace(options, threshold=detector.stored_threshold)
        result = scan_files(found.files, detector.scorer, detector.info, options)
    found.warnings.extend(detector.warnings)
    add_discovery(result, found)
    if not found.files:
        result.warnings.append("no files to scan (check the paths and include)")
    return result


def run(config: str | Path, out: str | Path, until: str | None = None) -> Path:
    """Run (or resume) every stage of ``config`` (a YAML path or a shipped name: ``demo``,
    ``devign-cpu``) into ``out``; returns the run folder, whose ``results.json`` and
    ``report.md`` hold the tables."""
    from moekd.config import load_config
    from moekd.pipeline import run_pipeline

    cfg = load_config(str(config), require_data=True)
    return run_pipeline(cfg, Path(out), until).root
