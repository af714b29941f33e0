"""Render a :class:`ScanResult` as text (for people), JSON (for scripts) or SARIF (for CI)."""

from __future__ import annotations

import json
from typing import Any

from moekd.deploy.scan import ScanResult

FORMATS = ("text", "json", "sarif")


def to_text(result: ScanResult) -> str:
    """One ``uri:start-end: level: ...`` line per finding (editors jump to it) and a summary."""
    lines = [
        f"{f.uri}:{f.start_line}-{f.end_line}: {f.level}: function "
        f"{f.function or '<unnamed>'} p(vulnerable)={f.probability:.3f}"
        for f in result.findings
    ]
    m = result.model
    lines.append(
        f"{len(result.findings)} finding(s) in {result.functions_scanned} function(s) of "
        f"{result.files_scanned} file(s), {len(result.skipped)} skipped; model {m.name} "
        f"({m.backend} {m.precision}), threshold {result.threshold:g}, "
        f"{result.seconds:.1f} s"
    )
    return "\n".join(lines) + "\n"


def to_json_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "tool": "moekd",
        "model": result.model.to_dict(),
        "root": str(result.root.resolve()),
        "threshold": result.threshold,
        "error_threshold": result.error_threshold,
        "files_scanned": result.files_scanned,
        "functions_scanned": result.functions_scanned,
        "seconds": round(result.seconds, 3),
        "findings": [f.to_dict() for f in result.findings],
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in result.skipped],
        "warnings": result.warnings,
    }


def render(result: ScanResult, fmt: str) -> str:
    if fmt == "text":
        return to_text(result)
    if fmt == "json":
        return json.dumps(to_json_dict(result), indent=2) + "\n"
    if fmt == "sarif":
        from moekd.deploy.sarif import to_sarif

        return json.dumps(to_sarif(result), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
