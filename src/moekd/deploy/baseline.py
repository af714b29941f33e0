"""``--baseline OLD``: the fingerprints of an earlier report, so a scan reports only new findings.

The old report is a SARIF log written by ``moekd scan -f sarif`` (the fingerprints are the
results' ``partialFingerprints``) or a JSON report of ``moekd scan -f json`` (its findings'
``fingerprint``). Suppressed results of the old report count as known too. A fingerprint is a
hash of the function's name and whitespace-normalised code, so a known finding stays known when
edits elsewhere move it, and comes back when its own code changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moekd.deploy.sarif import FINGERPRINT_KEY
from moekd.errors import UserError


def _bad(path: Path, problem: str) -> UserError:
    return UserError(f"--baseline {path}: {problem}")


def _sarif_fingerprints(path: Path, log: dict[str, Any]) -> set[str]:
    runs = log.get("runs")
    if not isinstance(runs, list):
        raise _bad(path, "not a SARIF log (no runs)")
    found: set[str] = set()
    for run in runs:
        results = run.get("results") if isinstance(run, dict) else None
        for result in results if isinstance(results, list) else ():
            prints = result.get("partialFingerprints") if isinstance(result, dict) else None
            value = prints.get(FINGERPRINT_KEY) if isinstance(prints, dict) else None
            if isinstance(value, str):
                found.add(value)
    return found


def _json_fingerprints(path: Path, report: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for key in ("findings", "suppressed"):
        entries = report.get(key, [])
        if not isinstance(entries, list):
            raise _bad(path, f"'{key}' is not a list")
        found.update(
            e["fingerprint"]
            for e in entries
            if isinstance(e, dict) and isinstance(e.get("fingerprint"), str)
        )
    return found


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints of the findings in the SARIF log or JSON report at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _bad(path, f"cannot read ({reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(path, f"not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise _bad(path, "not a SARIF log or a moekd JSON report")
    if "runs" in data:
        return frozenset(_sarif_fingerprints(path, data))
    if "findings" in data:
        return frozenset(_json_fingerprints(path, data))
    raise _bad(path, "not a SARIF log or a moekd JSON report (no 'runs' or 'findings')")
