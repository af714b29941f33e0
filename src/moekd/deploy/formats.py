"""Render a :class:`ScanResult` as text (for people), JSON (for scripts) or SARIF (for CI)."""

from __future__ import annotations

import json
from typing import Any

from moekd.deploy.scan import Finding, ScanResult
from moekd.deploy.textsafe import escape_controls, quote_name

FORMATS = ("text", "json", "sarif")


def _finding_line(f: Finding) -> str:
    window = (f.window_start_line, f.window_end_line)
    whole = window == (f.start_line, f.end_line)
    where = "" if whole else f" (lines {window[0]}-{window[1]} scored highest)"
    return (
        f"{quote_name(f.uri)}:{f.start_line}-{f.end_line}: {f.level}: function "
        f"{quote_name(f.function) if f.function else '<unnamed>'} "
        f"p(vulnerable)={f.probability:.3f}{where}"
    )


def to_text(result: ScanResult) -> str:
    """One ``uri:start-end: level: ...`` line per finding, highest score first (editors jump
    to it), and a summary. File and function names that hold control characters are quoted
    and escaped, so no name can forge a line."""
    lines = [_finding_line(f) for f in result.findings]
    m, total = result.model, sum(result.counts.values())
    extras = [
        f"{len(result.suppressed)} suppressed" if result.suppressed else "",
        f"{result.baseline_matched} in the baseline" if result.baseline_matched else "",
        f"only the {len(result.findings)} highest listed" if result.findings_dropped else "",
        f"{result.windowed_functions} scored in windows" if result.windowed_functions else "",
        f"{result.cached_functions} from the cache" if result.cached_functions else "",
    ]
    lines.append(
        f"{total} finding(s) in {result.functions_scanned} function(s) of "
        f"{result.files_scanned} file(s), {len(result.skipped)} skipped"
        + "".join(f", {e}" for e in extras if e)
        + f"; model {escape_controls(m.name)} ({m.backend} {m.precision}), "
        f"threshold {result.threshold:g}, {result.seconds:.1f} s"
    )
    return "\n".join(lines) + "\n"


def to_json_dict(result: ScanResult) -> dict[str, Any]:
    """Everything, for scripts: ``findings`` ranked (at most ``--max-findings``), the
    ``suppressed`` ones apart, and the counts in ``summary``."""
    return {
        "tool": "moekd",
        "model": result.model.to_dict(),
        "root": str(result.root.resolve()),
        "threshold": result.threshold,
        "error_threshold": result.error_threshold,
        "files_scanned": result.files_scanned,
        "functions_scanned": result.functions_scanned,
        "seconds": round(result.seconds, 3),
        "summary": result.summary(),
        "findings": [f.to_dict() for f in result.findings],
        "suppressed": [f.to_dict() for f in result.suppressed],
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in result.skipped],
        "warnings": result.warnings,
    }


def render(result: ScanResult, fmt: str, sarif_automation_id: str | None = None) -> str:
    """The report in ``fmt``; ``sarif_automation_id`` names the SARIF run (see
    :func:`moekd.deploy.sarif.to_sarif`)."""
    if fmt == "text":
        return to_text(result)
    if fmt == "json":
        return json.dumps(to_json_dict(result), indent=2) + "\n"
    if fmt == "sarif":
        from moekd.deploy.sarif import to_sarif

        return json.dumps(to_sarif(result, sarif_automation_id), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
