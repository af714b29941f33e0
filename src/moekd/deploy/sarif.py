"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One rule (``moekd/vulnerable-function``) carries the model's name and size; each finding is a
result with the function's line span, ``level`` by probability (``error`` at or above the
error threshold, else ``warning``), ``rank`` = 100 x p, and a ``partialFingerprints`` entry
hashed from the function's name and whitespace-normalised code, so an alert survives unrelated
edits that move the function. URIs are relative to the scan root (``uriBaseId`` SRCROOT), which
is what code scanning expects when the scan runs from the repository root.
"""

from __future__ import annotations

from typing import Any

import moekd
from moekd.deploy.scan import ScanResult, uri_for

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
RULE_ID = "moekd/vulnerable-function"
ROOT_ID = "SRCROOT"
FINGERPRINT_KEY = "moekdFunctionHash/v1"


def _rule(result: ScanResult) -> dict[str, Any]:
    model = result.model
    size = f"{model.size_mb:.2f} MB" if model.size_mb is not None else "unknown size"
    return {
        "id": RULE_ID,
        "name": "VulnerableFunction",
        "shortDescription": {"text": "Function predicted vulnerable by a learned model"},
        "fullDescription": {
            "text": (
                f"The model {model.name} ({model.backend} {model.precision}, {size}) scores "
                "every C function; functions whose probability of being vulnerable reaches "
                f"{result.threshold:g} are reported ({result.error_threshold:g} and above as "
                "errors). It is a statistical signal for review, not a proof."
            )
        },
        "help": {
            "text": (
                "Review the function for memory-safety flaws (bounds, NULL checks, integer "
                "overflow, use after free). The probability is in the result's properties."
            ),
            "markdown": (
                "Review the function for memory-safety flaws (bounds checks, `NULL` checks, "
                "integer overflow, use after free). `properties.probability` holds the score."
            ),
        },
        "defaultConfiguration": {"level": "warning"},
        "properties": {
            "tags": ["security", "machine-learning"],
            "precision": "low",
            "problem.severity": "warning",
            "model": model.to_dict(),
            "threshold": result.threshold,
            "errorThreshold": result.error_threshold,
        },
    }


def _location(uri: str, start: int | None = None, end: int | None = None) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": uri}
    if not uri.startswith("file:"):
        artifact["uriBaseId"] = ROOT_ID
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if start is not None:
        physical["region"] = {"startLine": start, "endLine": max(end or start, start)}
    return {"physicalLocation": physical}


def to_sarif(result: ScanResult) -> dict[str, Any]:
    """The whole SARIF log of one scan, as a JSON-ready dict."""
    results = []
    for f in result.findings:
        location = _location(f.uri, f.start_line, f.end_line)
        if f.function:
            location["logicalLocations"] = [{"name": f.function, "kind": "function"}]
        what = f"`{f.function}`" if f.function else "at this location"
        results.append(
            {
                "ruleId": RULE_ID,
                "ruleIndex": 0,
                "level": f.level,
                "message": {
                    "text": (
                        f"Function {what} looks vulnerable: p(vulnerable) = "
                        f"{f.probability:.3f} (model {result.model.name})."
                    )
                },
                "locations": [location],
                "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
                "rank": round(100.0 * f.probability, 2),
                "properties": {"probability": round(f.probability, 6)},
            }
        )
    notifications: list[dict[str, Any]] = [
        {"level": "warning", "message": {"text": message}} for message in result.warnings
    ]
    notifications += [
        {
            "level": "warning",
            "message": {"text": f"skipped: {s.reason}"},
            "locations": [_location(uri_for(s.path, result.root))],
        }
        for s in result.skipped
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "moekd",
                "version": moekd.__version__,
                "semanticVersion": moekd.__version__,
                "rules": [_rule(result)],
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "originalUriBaseIds": {ROOT_ID: {"uri": result.root.resolve().as_uri().rstrip("/") + "/"}},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "filesScanned": result.files_scanned,
            "functionsScanned": result.functions_scanned,
            "seconds": round(result.seconds, 3),
        },
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
