"""Files -> functions -> probabilities -> findings, independent of any output format.

Levels: a function scored ``p >= error_threshold`` (default 0.9) is an ``error``; one with
``threshold <= p < error_threshold`` (default threshold 0.5) a ``warning``; anything below the
threshold is not reported. ``--fail-on`` compares against these levels.

The scan streams: files are read and parsed one at a time and their functions scored in chunks
of :data:`CHUNK`, so memory stays flat however large the tree (only findings are kept, at most
``max_findings`` of them, the highest scores). A function longer than the model's window is
scored over overlapping windows and keeps its highest window score
(:mod:`moekd.deploy.windows`); scores are cached by content (:mod:`moekd.deploy.cache`).
Findings are ranked by score, highest first (ties by path and line).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moekd.cparse import extract_functions
from moekd.deploy.cache import ScoreCache
from moekd.deploy.discover import (
    DEFAULT_INCLUDE,
    DEFAULT_MAX_BYTES,
    Discovery,
    Skipped,
    discover,
    read_source,
)
from moekd.deploy.loading import ModelInfo
from moekd.deploy.scoring import Scorer
from moekd.deploy.suppress import suppression
from moekd.errors import UserError

if TYPE_CHECKING:
    from moekd.models.classifier import CodeClassifier

LEVELS = ("warning", "error")
DEFAULT_THRESHOLD = 0.5
DEFAULT_ERROR_THRESHOLD = 0.9
#: GitHub code scanning takes at most 25,000 results a run; more is noise for a reader too.
DEFAULT_MAX_FINDINGS = 25_000
#: Functions scored together: big enough for good length buckets, small enough that progress
#: shows and memory stays flat on huge trees (and huge files).
CHUNK = 512
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Finding:
    """One function the model scores at or above the threshold.

    ``window_start_line``/``window_end_line``: the lines of the window that scored highest
    (the whole function when it fits the model). ``suppression``: the reason of its
    ``moekd-ignore`` comment ("" without one), None when it is not suppressed."""

    path: Path
    uri: str  # relative to the scan root (posix), or an absolute file URI outside it
    function: str
    start_line: int
    end_line: int
    probability: float
    level: str
    fingerprint: str
    window_start_line: int
    window_end_line: int
    suppression: str | None = None

    def rank_key(self) -> tuple[float, str, int]:
        return (-self.probability, self.uri, self.start_line)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "path": str(self.path),
            "uri": self.uri,
            "function": self.function,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "window_start_line": self.window_start_line,
            "window_end_line": self.window_end_line,
            "probability": round(self.probability, 6),
            "level": self.level,
            "fingerprint": self.fingerprint,
        }
        if self.suppression is not None:
            data["suppression"] = self.suppression
        return data


@dataclass
class ScanResult:
    """Everything a report needs: findings, what was read and skipped, settings, timing."""

    root: Path
    model: ModelInfo
    threshold: float
    error_threshold: float
    findings: list[Finding] = field(default_factory=list)  # ranked, at most max_findings
    suppressed: list[Finding] = field(default_factory=list)  # by a moekd-ignore comment
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # not about one skipped file
    files_scanned: int = 0
    functions_scanned: int = 0
    #: Findings reported, by level, the ones past ``max_findings`` included.
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    findings_dropped: int = 0  # past max_findings (the lowest scores)
    baseline_matched: int = 0  # findings left out because the baseline has them
    windowed_functions: int = 0  # longer than the model's window: scored in windows
    cached_functions: int = 0  # scores taken from the cache (no inference)
    seconds: float = 0.0

    def messages(self) -> list[str]:
        """Every warning as one line for a terminal: general ones, then skipped files."""
        return [*self.warnings, *(f"{s.path}: skipped, {s.reason}" for s in self.skipped)]

    def worst_level(self) -> str | None:
        return next((lvl for lvl in reversed(LEVELS) if self.counts.get(lvl)), None)

    def summary(self) -> dict[str, Any]:
        """Counts for a report's summary (JSON ``summary``, SARIF run properties)."""
        return {
            "files_scanned": self.files_scanned,
            "functions_scanned": self.functions_scanned,
            "findings": sum(self.counts.values()),
            "errors": self.counts.get("error", 0),
            "warnings": self.counts.get("warning", 0),
            "findings_not_listed": self.findings_dropped,
            "suppressed": len(self.suppressed),
            "baseline_matched": self.baseline_matched,
            "windowed_functions": self.windowed_functions,
            "cached_functions": self.cached_functions,
            "skipped_files": len(self.skipped),
        }


@dataclass(frozen=True)
class ScanOptions:
    include: Sequence[str] = DEFAULT_INCLUDE
    exclude: Sequence[str] = ()
    gitignore: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    threshold: float = DEFAULT_THRESHOLD
    error_threshold: float = DEFAULT_ERROR_THRESHOLD
    max_findings: int = DEFAULT_MAX_FINDINGS
    #: Fingerprints of known findings (``--baseline``): not reported again.
    baseline: frozenset[str] = frozenset()

    def check(self) -> None:
        if not 0.0 <= self.threshold <= 1.0 or not 0.0 <= self.error_threshold <= 1.0:
            raise UserError("--threshold and --error-threshold must lie in [0, 1]")
        if self.max_bytes <= 0:
            raise UserError("--max-bytes must be positive")
        if self.max_findings <= 0:
            raise UserError("--max-findings must be positive")


def level_for(p: float, threshold: float, error_threshold: float) -> str | None:
    if p >= max(threshold, error_threshold):
        return "error"
    return "warning" if p >= threshold else None


def uri_for(path: Path, root: Path) -> str:
    """Posix path relative to ``root`` when inside it, else an absolute ``file://`` URI. The
    folder is resolved, the name is not: a skipped symlink (a loop, say) is where it lies."""
    resolved = path.parent.resolve() / path.name
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
    fingerprint: str
    suppression: str | None


#: Called as the scan goes: files done so far, and the result as it stands.
Progress = Callable[[int, ScanResult], None]


class _Collector:
    """Turns scores into findings: levels, suppressions, the baseline, the cap."""

    def __init__(self, result: ScanResult, options: ScanOptions) -> None:
        self.result = result
        self.options = options
        self._kept: list[Finding] = []

    def add(self, item: _Pending, p: float, first: int, last: int) -> None:
        level = level_for(p, self.options.threshold, self.options.error_threshold)
        if level is None:
            return
        finding = Finding(
            item.path,
            item.uri,
            item.name,
            item.start_line,
            item.end_line,
            p,
            level,
            item.fingerprint,
            item.start_line + first,
            item.start_line + last,
            item.suppression,
        )
        if item.suppression is not None:
            self.result.suppressed.append(finding)
        elif item.fingerprint in self.options.baseline:
            self.result.baseline_matched += 1
        else:
            self.result.counts[level] += 1
            self._kept.append(finding)
            if len(self._kept) >= 2 * self.options.max_findings:
                self._trim()

    def _trim(self) -> None:
        self._kept.sort(key=Finding.rank_key)
        del self._kept[self.options.max_findings :]

    def finish(self) -> None:
        self._trim()
        self.result.findings = self._kept
        self.result.findings_dropped = sum(self.result.counts.values()) - len(self._kept)
        self.result.suppressed.sort(key=Finding.rank_key)


def _functions(path: Path, uri: str, text: str) -> Iterator[_Pending]:
    """The file's functions with their fingerprints (identical twins in one file numbered in
    source order, so they differ) and suppression comments, made one at a time."""
    lines = text.split("\n")  # tree-sitter's rows: only "\n" ends a line
    twins: dict[str, int] = {}
    for fn in extract_functions(text):
        key = fingerprint(fn.name, fn.code)
        twins[key] = twins.get(key, 0) + 1
        yield _Pending(
            path,
            uri,
            fn.name,
            fn.start_line,
            fn.end_line,
            fn.code,
            f"{key}:{twins[key]}",
            suppression(lines, fn.start_line),
        )


def scan_files(
    files: Sequence[Path],
    scorer: Scorer,
    model: ModelInfo,
    options: ScanOptions | None = None,
    root: Path | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Read, parse and score ``files`` in a stream of chunks of :data:`CHUNK` functions."""
    options = options or ScanOptions()
    options.check()
    started = time.perf_counter()
    root = root or Path.cwd()
    result = ScanResult(root, model, options.threshold, options.error_threshold)
    collector = _Collector(result, options)
    pending: list[_Pending] = []
    cached_before = scorer.cached

    def flush() -> None:
        scores = scorer.score([p.code for p in pending])
        for item, score in zip(pending, scores, strict=True):
            collector.add(item, score.probability, score.first_line, score.last_line)
            result.windowed_functions += score.windows > 1
        result.functions_scanned += len(pending)
        pending.clear()

    for done, path in enumerate(files, 1):
        text = read_source(path, options.max_bytes)
        if isinstance(text, Skipped):
            result.skipped.append(text)
        else:
            result.files_scanned += 1
            for item in _functions(path, uri_for(path, root), text):
                pending.append(item)
                if len(pending) >= CHUNK:
                    flush()
                    if progress is not None:
                        progress(done - 1, result)
        if progress is not None:
            progress(done, result)
    if pending:
        flush()
        if progress is not None:
            progress(len(files), result)
    collector.finish()
    result.cached_functions = scorer.cached - cached_before
    if not scorer.windowing and result.functions_scanned:
        result.warnings.append(
            f"model {model.name}: cannot count its tokens, so functions were scored whole "
            "(one longer than the model's window is judged by its start)"
        )
    if scorer.cache is not None and scorer.cache.problem:
        result.warnings.append(scorer.cache.problem)
    result.seconds = time.perf_counter() - started
    return result


def add_discovery(result: ScanResult, found: Discovery) -> None:
    """Put what discovery met (its warnings, the symlinks it did not follow) first."""
    result.warnings[:0] = found.warnings
    result.skipped[:0] = found.skipped


def scan_paths(
    paths: Sequence[str | Path],
    classifier: CodeClassifier,
    model: ModelInfo,
    options: ScanOptions | None = None,
    root: Path | None = None,
    progress: Progress | None = None,
    cache: ScoreCache | None = None,
    model_digest: str | None = None,
) -> ScanResult:
    """Find C files under ``paths`` and scan them (see :func:`scan_files`); scores are cached
    in ``cache`` when ``model_digest`` names the model by content."""
    options = options or ScanOptions()
    options.check()
    found = discover(paths, options.include, options.exclude, options.gitignore)
    scorer = Scorer(classifier, model_digest, cache)
    result = scan_files(found.files, scorer, model, options, root, progress)
    add_discovery(result, found)
    if not found.files:
        result.warnings.append("no files to scan (check the paths and --include)")
    return result
