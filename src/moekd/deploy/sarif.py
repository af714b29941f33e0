"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One rule (``moekd/vulnerable-function``) carries the model's name and size; each finding is a
result with the function's line span, ``level`` by probability (``error`` at or above the
error threshold, else ``warning``), ``rank`` = 100 x p, and a ``partialFingerprints`` entry
hashed from the function's name and whitespace-normalised code, so an alert survives unrelated
edits that move the function. URIs are relative to the scan root (``uriBaseId`` SRCROOT), which
is what code scanning expects when the scan runs from the repository root; each path segment is
percent-encoded (RFC 3986), so ``#``, ``%``, ``?`` and spaces in file names survive.

GitHub code scanning reads a ``security-severity`` (a CVSS-like score) on the rule only, and
buckets it: 9.0 and up critical, 7.0-8.9 high, 4.0-6.9 medium, below that low. The rule says
medium (5.0): a learned score is a reason to review, not a confirmed flaw. Each result also
carries its level's score (5.0 for a warning, 7.5 for an error) for viewers that read it there.

A run holds at most ``max_results`` results (25,000 by default: GitHub rejects a run with
more); the highest scored are kept and a notification and ``properties.findingsNotListed`` say
how many were left out. Functions silenced by a ``moekd-ignore`` comment are not results
(GitHub would open alerts for them: it ignores SARIF ``suppressions``) unless
``include_suppressed`` asks for them, each with an ``inSource`` suppression. When a function
was scored over windows, the window that scored highest is a related location, linked from the
message.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

from moekd.deploy.scan import Finding, ScanResult, uri_for
from moekd.version import __version__

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
RULE_ID = "moekd/vulnerable-function"
ROOT_ID = "SRCROOT"
FINGERPRINT_KEY = "moekdFunctionHash/v1"
#: The results of one run that GitHub code scanning accepts.
GITHUB_MAX_RESULTS = 25_000
#: ``runAutomationDetails.id``: the category ``moekd`` (the trailing ``/`` leaves the run id
#: to GitHub). It does not name the model, so a new model's alerts replace the old ones'
#: instead of leaving them open in a category nothing uploads to any more.
DEFAULT_AUTOMATION_ID = "moekd/"
RULE_SECURITY_SEVERITY = "5.0"
SECURITY_SEVERITY = {"warning": "5.0", "error": "7.5"}


def encode_uri(uri: str) -> str:
    """A scan-root-relative posix path as a URI reference (each segment percent-encoded, from
    the file system's bytes, so names that are not UTF-8 keep their bytes); absolute
    ``file:///`` URIs (``Path.as_uri``) are encoded already."""
    if uri.startswith("file:///"):  # a relative posix path never starts so: no empty segment
        return uri
    return "/".join(quote(os.fsencode(segment), safe="") for segment in uri.split("/"))


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
            "security-severity": RULE_SECURITY_SEVERITY,
            "model": model.to_dict(),
            "threshold": result.threshold,
            "errorThreshold": result.error_threshold,
        },
    }


def _location(uri: str, start: int | None = None, end: int | None = None) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": encode_uri(uri)}
    if not uri.startswith("file:///"):
        artifact["uriBaseId"] = ROOT_ID
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if start is not None:
        physical["region"] = {"startLine": start, "endLine": max(end or start, start)}
    return {"physicalLocation": physical}


def _literal(text: str) -> str:
    """Message text with its square brackets escaped: SARIF reads ``[text](id)`` as a link."""
    return re.sub(r"([\\\[\]])", r"\\\1", text)


def _result(finding: Finding, model_name: str) -> dict[str, Any]:
    f = finding
    location = _location(f.uri, f.start_line, f.end_line)
    if f.function:
        location["logicalLocations"] = [{"name": f.function, "kind": "function"}]
    what = f"`{_literal(f.function)}`" if f.function else "at this location"
    windowed = (f.window_start_line, f.window_end_line) != (f.start_line, f.end_line)
    where = (
        f" Lines [{f.window_start_line}-{f.window_end_line}](1) scored highest." if windowed else ""
    )
    out: dict[str, Any] = {
        "ruleId": RULE_ID,
        "ruleIndex": 0,
        "level": f.level,
        "message": {
            "text": (
                f"Function {what} looks vulnerable: p(vulnerable) = "
                f"{f.probability:.3f} (model {model_name}).{where}"
            )
        },
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "rank": round(100.0 * f.probability, 2),
        "properties": {
            "probability": round(f.probability, 6),
            "security-severity": SECURITY_SEVERITY[f.level],
            "windowStartLine": f.window_start_line,
            "windowEndLine": f.window_end_line,
        },
    }
    if windowed:
        window = _location(f.uri, f.window_start_line, f.window_end_line)
        window["id"] = 1
        window["message"] = {"text": "the window of the function that scored highest"}
        out["relatedLocations"] = [window]
    if f.suppression is not None:
        suppression: dict[str, Any] = {"kind": "inSource", "status": "accepted"}
        if f.suppression:
            suppression["justification"] = f.suppression
        out["suppressions"] = [suppression]
    return out


def highest_scored(findings: list[Finding], limit: int) -> list[Finding]:
    """The ``limit`` findings with the highest probability, in their given order."""
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    if len(findings) <= limit:
        return findings
    ranked = sorted(range(len(findings)), key=lambda i: -findings[i].probability)
    keep = set(ranked[:limit])
    return [f for i, f in enumerate(findings) if i in keep]


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)


def to_sarif(
    result: ScanResult,
    automation_id: str | None = None,
    max_results: int = GITHUB_MAX_RESULTS,
    include_suppressed: bool = False,
) -> dict[str, Any]:
    """The whole SARIF log of one scan, as a JSON-ready dict. ``automation_id`` names the run
    for code scanning (``category/`` or ``category/run-id``; default ``moekd/``); an upload's
    own ``category`` overrides it."""
    kept = highest_scored(result.findings, max_results)
    total = sum(result.counts.values())
    omitted = total - len(kept)
    silenced = result.suppressed if include_suppressed else []
    silenced = highest_scored(silenced, max_results - len(kept))
    notifications: list[dict[str, Any]] = [
        {"level": "warning", "message": {"text": message}} for message in result.warnings
    ]
    if omitted:
        notifications.append(
            {
                "level": "warning",
                "message": {
                    "text": (
                        f"{omitted} of {total} findings are not listed: only the {len(kept)} "
                        f"highest scored are (--max-findings; a run holds at most "
                        f"{max_results} results)"
                    )
                },
            }
        )
    notifications += [
        {
            "level": "warning",
            "message": {"text": f"skipped: {s.reason}"},
            "locations": [_location(uri_for(s.path, result.root))],
        }
        for s in result.skipped
    ]
    summary = {**result.summary(), "findings_not_listed": omitted}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "moekd",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(result)],
            }
        },
        "automationDetails": {"id": automation_id or DEFAULT_AUTOMATION_ID},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "originalUriBaseIds": {ROOT_ID: {"uri": result.root.resolve().as_uri().rstrip("/") + "/"}},
        "results": [_result(f, result.model.name) for f in [*kept, *silenced]],
        "columnKind": "unicodeCodePoints",
        "properties": {
            **{_camel(key): value for key, value in summary.items()},
            "seconds": round(result.seconds, 3),
        },
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
