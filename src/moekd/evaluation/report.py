"""``report.md``: the run's measurements as tables a reader can check against results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moekd.io import atomic_write_text

MODEL_COLUMNS = [
    ("accuracy", "Acc", "{:.2%}"),
    ("precision", "Prec", "{:.2%}"),
    ("recall", "Rec", "{:.2%}"),
    ("f1", "F1", "{:.2%}"),
    ("params", "Params", "{:,}"),
    ("size_mb", "Size MB", "{:.2f}"),
    ("gflops", "GFLOPs", "{:.3f}"),
    ("latency_ms", "Latency ms", "{:.2f}"),
]


def _cell(metrics: dict[str, Any], key: str, fmt: str) -> str:
    value = metrics.get(key)
    return "–" if value is None else fmt.format(value)


def model_table(rows: dict[str, dict[str, Any]]) -> str:
    header = "| Model | " + " | ".join(title for _, title, _ in MODEL_COLUMNS) + " |"
    rule = "|---" * (len(MODEL_COLUMNS) + 1) + "|"
    lines = [header, rule]
    for name, metrics in rows.items():
        cells = [_cell(metrics, key, fmt) for key, _, fmt in MODEL_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _attack_cell(summary: dict[str, Any] | None, key: str) -> str:
    if summary is None or summary.get(key) is None:
        return "–"
    text = f"{summary[key]:.1%}"
    return f"{text} ({summary['succeeded']}/{summary['attacked']})" if key == "asr" else text


def robustness_table(rows: dict[str, dict[str, Any]]) -> str | None:
    """ASR (lower is more robust) and robust accuracy per model and attack."""
    attacks = sorted({a for m in rows.values() for a in m.get("attacks", {})})
    if not attacks:
        return None
    header = "| Model | " + " | ".join(f"ASR {a}" for a in attacks)
    header += " | " + " | ".join(f"Robust acc {a}" for a in attacks) + " |"
    lines = [header, "|---" * (1 + 2 * len(attacks)) + "|"]
    for name, metrics in rows.items():
        found = metrics.get("attacks", {})
        if found:
            cells = [_attack_cell(found.get(a), "asr") for a in attacks]
            cells += [_attack_cell(found.get(a), "robust_accuracy") for a in attacks]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(results: dict[str, Any], path: Path) -> None:
    dataset = results["dataset"]
    lines = [f"# moekd run: {results.get('name', '')}", "", f"Data: {dataset['source']}", ""]
    lines += ["| Split | N | Vulnerable | sha256 |", "|---|---|---|---|"]
    for name, split in dataset["splits"].items():
        frac = split["vulnerable_fraction"]
        share = "–" if frac is None else f"{frac:.1%}"
        lines.append(f"| {name} | {split['n']} | {share} | `{split['sha256'][:12]}` |")
    rows = {f"teacher ({results['teacher'].get('preset', '')})": results["teacher"]}
    rows.update({f"expert {i}": m for i, m in enumerate(results.get("experts", []))})
    if "moe" in results:
        rows["mixture of experts"] = results["moe"]
    rows.update(results.get("methods", {}))
    lines += ["", "## Test set", "", model_table(rows), ""]
    robustness = robustness_table(rows)
    if robustness:
        lines += ["## Robustness (identifier renaming)", "", robustness, ""]
        lines += [
            "ASR: share of attacked functions (classified correctly, with at least one renamable "
            "identifier) whose label the attack flipped; lower is more robust.",
            "",
        ]
    timings = results.get("timings_s", {})
    if timings:
        lines += ["## Wall time per stage", "", "| Stage | Seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
        lines.append("")
    atomic_write_text(path, "\n".join(lines))
