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
    timings = results.get("timings_s", {})
    if timings:
        lines += ["## Wall time per stage", "", "| Stage | Seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
        lines.append("")
    atomic_write_text(path, "\n".join(lines))
