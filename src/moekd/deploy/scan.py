"""Files -> functions -> probabilities -> findings, independent of any output format.

Levels: a function scored ``p >= error_threshold`` (default 0.9) is an ``error``; one with
``threshold <= p < error_threshold`` (default threshold 0.5) a ``warning``; anything below the
threshold is not reported. ``--fail-on`` compares against these levels.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moekd.cparse import extract_functions
from moekd.deploy.discover import (
    DEFAULT_INCLUDE,
    DEFAULT_MAX_BYTES,
    Skipped,
    discover,
    read_source,
)
from moekd.deploy.loading import ModelInfo
from moekd.errors import UserError

if TYPE_CHECKING:
    from moekd.models.classifier import CodeClassifier

LEVELS = ("warning", "error")
DEFAULT_THRESHOLD = 0.5
DEFAULT_ERROR_THRESHOLD = 0.9
#: Functions per ``predict_proba`` call: big enough for good length buckets, small enough
#: that progress shows and memory stays flat on huge trees.
CHUNK = 512
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Finding:
    """One function the model scores at or above the threshold."""

    path: Path
    uri: str  # relative to the scan root (posix), or an absolute file URI outside it
    function: str
    start_line: int
    end_line: int
    probability: float
    level: str
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "uri": self.uri,
            "function": self.function,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "probability": round(self.probability, 6),
            "level": self.level,
            "fingerprint": self.fingerprint,
        }


@dataclass
class ScanResult:
    """Everything a report needs: findings, what was read and skipped, settings, timing."""

    root: Path
    model: ModelInfo
    threshold: float
    error_threshold: float
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # not about one skipped file
    files_scanned: int = 0
    functions_scanned: int = 0
    seconds: float = 0.0

    def messages(self) -> list[str]:
        """Every warning as one line for a terminal: general ones, then skipped files."""
        return [*self.warnings, *(f"{s.path}: skipped, {s.reason}" for s in self.skipped)]

    def worst_level(self) -> str | None:
        levels = {f.level for f in self.findings}
        return next((lvl for lvl in reversed(LEVELS) if lvl in levels), None)


@dataclass(frozen=True)
class ScanOptions:
    include: Sequence[str] = DEFAULT_INCLUDE
    exclude: Sequence[str] = ()
    gitignore: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    threshold: float = DEFAULT_THRESHOLD
    error_threshold: float = DEFAULT_ERROR_THRESHOLD

    def check(self) -> None:
        if not 0.0 <= self.threshold <= 1.0 or not 0.0 <= self.error_threshold <= 1.0:
            raise UserError("--threshold and --error-threshold must lie in [0, 1]")
        if self.max_bytes <= 0:
            raise UserError("--max-bytes must be positive")


def level_for(p: float, threshold: float, error_threshold: float) -> str | None:
    if p >= max(threshold, error_threshold):
        return "error"
    return "warning" if p >= threshold else None


def uri_for(path: Path, root: Path) -> str:
    """Posix path relative to ``root`` when inside it, else an absolute ``file://`` URI."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return resolved.as_uri()


def fingerprint(name: str, code: str) -> str:
    """Stable across moves within a file and whitespace edits; changes with the code."""
    normal = _SPACE.sub(" ", code).strip()
    return hashlib.sha256(f"{name}\0{normal}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Pending:
    path: Path
    uri: str
    name: str
    start_line: int
    end_line: int
    code: str


def scan_paths(
    paths: Sequence[str | Path],
    classifier: CodeClassifier,
    model: ModelInfo,
    options: ScanOptions | None = None,
    root: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Find C files under ``paths``, extract every function and score them in chunks."""
    options = options or ScanOptions()
    options.check()
    started = time.perf_counter()
    root = root or Path.cwd()
    found = discover(paths, options.include, options.exclude, options.gitignore)
    result = ScanResult(root, model, options.threshold, options.error_threshold)
    result.warnings.extend(found.warnings)
    if not found.files:
        result.warnings.append("no files to scan (check the paths and --include)")
    pending: list[_Pending] = []
    for path in found.files:
        text = read_source(path, options.max_bytes)
        if isinstance(text, Skipped):
            result.skipped.append(text)
            continue
        result.files_scanned += 1
        uri = uri_for(path, root)
        for fn in extract_functions(text):
            pending.append(_Pending(path, uri, fn.name, fn.start_line, fn.end_line, fn.code))
    result.functions_scanned = len(pending)
    seen: dict[tuple[str, str], int] = {}
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        proba = classifier.predict_proba([p.code for p in chunk])[:, 1]
        for item, p in zip(chunk, proba, strict=True):
            level = level_for(float(p), options.threshold, options.error_threshold)
            if level is None:
                continue
            key = fingerprint(item.name, item.code)
            seen[(item.uri, key)] = seen.get((item.uri, key), 0) + 1
            result.findings.append(
                Finding(
                    item.path,
                    item.uri,
                    item.name,
                    item.start_line,
                    item.end_line,
                    float(p),
                    level,
                    f"{key}:{seen[(item.uri, key)]}",  # identical twins in one file differ
                )
            )
        if progress is not None:
            progress(start + len(chunk), len(pending))
    result.findings.sort(key=lambda f: (f.uri, f.start_line))
    result.seconds = time.perf_counter() - started
    return result
