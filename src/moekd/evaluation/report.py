"""``report.md``: the run's measurements as tables a reader can check against results.json."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from moekd.evaluation.stats import proportion_interval

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
    """A value, with its standard deviation over seeds where there were several."""
    value = metrics.get(key)
    if value is None:
        return "–"
    spread = metrics.get("std", {}).get(key)
    if spread is not None and len(metrics.get("seeds", [])) > 1:
        return f"{fmt.format(value)} ± {fmt.format(spread)}"
    return fmt.format(value)


def model_table(rows: dict[str, dict[str, Any]]) -> str:
    header = "| Model | " + " | ".join(title for _, title, _ in MODEL_COLUMNS) + " |"
    rule = "|---" * (len(MODEL_COLUMNS) + 1) + "|"
    lines = [header, rule]
    for name, metrics in rows.items():
        cells = [_cell(metrics, key, fmt) for key, _, fmt in MODEL_COLUMNS]
        lines.append(f"| {_name(name, metrics)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _name(name: str, metrics: dict[str, Any]) -> str:
    return f"{name} †" if metrics.get("constant_seeds") else name


CONSTANT_NOTE = (
    "†: gives every test function the same label (in at least one seed): its attacks cannot "
    "succeed, so its ASR of 0 is not robustness."
)


def _attack_cell(summary: dict[str, Any] | None, key: str) -> str:
    if summary is None or summary.get(key) is None:
        return "–"
    text = f"{summary[key]:.1%}"
    if key != "asr":
        return text
    if summary.get("seeds", 1) > 1:
        text += f" ± {summary['asr_std']:.1%}"
    low, high = proportion_interval(summary["succeeded"], summary["attacked"])
    return f"{text} ({summary['succeeded']}/{summary['attacked']}; {low:.0%}-{high:.0%})"


def _interval(record: dict[str, Any]) -> str:
    mark = "*" if record["low"] > 0 or record["high"] < 0 else ""
    return f"{record['difference']:+.1%} [{record['low']:+.1%}, {record['high']:+.1%}]{mark}"


def comparison_table(comparisons: list[dict[str, Any]]) -> str | None:
    """MoEKD minus each baseline, with 95% bootstrap intervals and McNemar's p per seed."""
    if not comparisons:
        return None
    attacks = sorted({a for c in comparisons for a in c["asr"]})
    header = "| MoEKD | vs | Δ Acc | Δ F1 | " + " | ".join(f"Δ ASR {a}" for a in attacks)
    header += " | McNemar p (per seed) |"
    lines = [header, "|---" * (5 + len(attacks)) + "|"]
    for c in comparisons:
        cells = [c["ours"], c["baseline"], _interval(c["accuracy"]), _interval(c["f1"])]
        cells += [_interval(c["asr"][a]) if a in c["asr"] else "–" for a in attacks]
        cells.append(", ".join(f"{m['p_value']:.3g}" for m in c["mcnemar"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _paired_table(first: str, second: str, rows: list[tuple[str, str, str, dict]]) -> str:
    """One row per (model, other model, attack): ASRs on the functions attacked for both."""
    lines = [
        f"| {first} | vs | Attack | Functions | ASR {first} | ASR {second} | Δ ASR | "
        "McNemar p (pooled) | McNemar p (per seed) |",
        "|---" * 9 + "|",
    ]
    for ours, other, attack, p in rows:
        per_seed = ", ".join(f"{m['p_value']:.3g}" for m in p["mcnemar"])
        cells = [ours, other, attack, str(p["functions"])]
        cells += [f"{p['ours_asr']:.1%}", f"{p['baseline_asr']:.1%}", _interval(p["difference"])]
        cells += [f"{p['mcnemar_pooled']['p_value']:.3g}", per_seed]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_asr_table(comparisons: list[dict[str, Any]]) -> str | None:
    """MoEKD minus each other method on the same functions: those attacked for both."""
    rows = [
        (c["ours"], c["baseline"], a, p)
        for c in comparisons
        for a, p in sorted(c.get("asr_paired", {}).items())
    ]
    return _paired_table("MoEKD", "other", rows) if rows else None


def teacher_asr_table(comparisons: list[dict[str, Any]]) -> str | None:
    """Each student minus the teacher on the same functions."""
    rows = [
        (c["student"], "teacher", a, p)
        for c in comparisons
        for a, p in sorted(c["asr_paired"].items())
    ]
    return _paired_table("student", "teacher", rows) if rows else None


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
            lines.append(f"| {_name(name, metrics)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _half_width(rate: float, n: int) -> float:
    """Half the width of a 95% normal interval of a rate measured on ``n`` draws."""
    return 1.96 * math.sqrt(max(rate * (1 - rate), 1e-12) / n) if n else 1.0


def _significance(comparisons: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Differences whose 95% interval excludes 0, and the comparisons with none."""
    found, none = [], []
    for c in comparisons:
        parts = [("accuracy", c["accuracy"]), ("F1", c["f1"])]
        paired = c.get("asr_paired", {})
        parts += [
            (f"ASR {a}", paired[a]["difference"] if a in paired else r)
            for a, r in sorted(c["asr"].items())
        ]
        hits = [f"{name} {_interval(r)}" for name, r in parts if r["low"] > 0 or r["high"] < 0]
        pair = f"{c['ours']} vs {c['baseline']}"
        (found if hits else none).append(f"{pair}: {'; '.join(hits)}" if hits else pair)
    return found, none


def summary_lines(results: dict[str, Any]) -> list[str]:
    """What was compared, what differs significantly and what this run's scale can show."""
    methods = results.get("methods", {})
    n_test = results["dataset"]["splits"]["test"]["n"]
    lines = ["## Summary", ""]
    if methods:
        low, high = (
            min(len(m["seeds"]) for m in methods.values()),
            max(len(m["seeds"]) for m in methods.values()),
        )
        seeds = f"{low}-{high}" if low != high else f"{low}"
        names = sorted({m["method"] for m in methods.values()})
        sizes = sorted({m["size"] for m in methods.values()})
        lines.append(
            f"Compared: {', '.join(names)} at {', '.join(sizes)}, {seeds} "
            f"seed{'s' * (high > 1)} each, "
            f"distilled from one teacher and {len(results.get('experts', []))} experts, on "
            f"{n_test} test functions."
        )
    references = results.get("references", {})
    teacher = results.get("teacher")
    if teacher and teacher.get("standin"):
        lines.append(
            f"The teacher is a stand-in for {teacher['standin']} (teacher.standin): the same "
            "architecture with random weights and a BPE trained on this run's data, never "
            "pre-trained; this run measures cost, and its accuracies (the teacher's, the "
            "experts' and every student's) say nothing of the real model's."
        )
    if references and teacher:
        tfidf, majority = references["tfidf_lr"]["accuracy"], references["majority"]["accuracy"]
        lines.append(
            f"References: TF-IDF + LR {tfidf:.1%}, majority class {majority:.1%}; the teacher "
            f"{teacher['accuracy']:.1%} ({100 * (teacher['accuracy'] - tfidf):+.1f} points against "
            "TF-IDF)."
        )
    constant = [n for n, m in methods.items() if m.get("constant_seeds")]
    if constant:
        lines.append(
            f"Constant predictors (one label for every test function, in at least one seed): "
            f"{', '.join(constant)}; their accuracy is the majority rate and their ASR means "
            "nothing."
        )
    found, none = _significance(results.get("comparisons", []))
    if found:
        lines += ["", "Differences whose 95% interval excludes 0 (MoEKD minus the other):"]
        lines += [f"- {line}" for line in found]
    if none:
        lines += ["", f"No difference excludes 0 for: {', '.join(none)}."]
    scale = f"With {n_test} test functions, one model's accuracy is known to about "
    scale += f"±{_half_width(0.7, n_test):.1%} (95%)"
    attacked = [a["attacked"] for m in methods.values() for a in m.get("attacks", {}).values()]
    if attacked:
        fewest = min(attacked)
        scale += (
            f"; ASRs rest on {fewest}-{max(attacked)} attacked functions per method (pooled over "
            f"seeds), about ±{_half_width(0.5, fewest):.0%} at the fewest"
        )
    lines += ["", scale + ". Differences smaller than that are not evidence either way.", ""]
    return lines


def reference_rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    names = {"tfidf_lr": "TF-IDF + LR (reference)", "majority": "majority class (reference)"}
    found = results.get("references", {})
    return {label: found[key] for key, label in names.items() if key in found}


def attack_setup_lines(setup: dict[str, Any] | None) -> list[str]:
    """What every attacked model faced: the attack set, budgets, victims, substitutes, and
    the preservation check's counts."""
    if not setup:
        return []
    budgets = ", ".join(
        f"{name} {'no cap' if n is None else n}" for name, n in setup["budgets"].items()
    )
    lines = [
        f"Attack set: {setup['functions']} test functions (stratified, seed {setup['seed']}), "
        f"the same for every model. Budgets, model queries per function: {budgets}.",
    ]
    victims = setup.get("victims") or {}
    if setup["backend"] == "onnx":
        agree = sum(v["agree"] for v in victims.values())
        total = sum(v["examples"] for v in victims.values())
        lines.append(
            f"Victims: dynamic-INT8 ONNX exports; their labels agree with torch's on "
            f"{agree}/{total} (model, function) pairs of the attack set."
        )
    substitutes = setup.get("substitutes")
    if substitutes:
        window = substitutes["window"]
        occurrences = substitutes["max_occurrences"]
        lines.append(
            f"ALERT's substitutes: masked LM `{substitutes['mlm']}`, computed once per function "
            f"for every model; "
            f"{'the whole function' if window is None else f'{window} sub-tokens either side'}"
            f" encoded, {'every' if occurrences is None else f'up to {occurrences}'} "
            "occurrence(s) of a name scored."
        )
    check = setup["preservation"]
    lines.append(
        f"Preservation check: {check['checked']} label flips found, "
        f"{check['checked'] - check['rejected']} kept, {check['rejected']} discarded as not "
        "behaviour-preserving."
    )
    return [" ".join(lines), ""]


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def fidelity_lines(fidelity: dict[str, Any] | None) -> list[str]:
    """Flip rate per relation for every model, then each student's agreement with the
    teacher on the originals and on every relation's variants."""
    if not fidelity:
        return []
    relations = list(fidelity["varied"])
    header = "| Model | " + " | ".join(relations) + " |"
    rule = "|---|" + "---|" * len(relations)
    flips = [header, rule]
    agree = ["| Student | originals | " + " | ".join(relations) + " |", rule + "---|"]
    for name, model in fidelity["models"].items():
        flips.append(f"| {name} | " + " | ".join(_rate(model["flip_rate"][r]) for r in relations))
        flips[-1] += " |"
        agreement = model["teacher_agreement"]
        if agreement is not None:
            cells = [_rate(agreement["originals"]), *(_rate(agreement[r]) for r in relations)]
            agree.append(f"| {name} | " + " | ".join(cells) + " |")
    varied = ", ".join(f"{r} {n}" for r, n in fidelity["varied"].items())
    lines = [
        "## Behavioural fidelity (semantics-preserving variants)",
        "",
        f"On {fidelity['functions']} stratified test functions; functions each relation applied "
        f"to: {varied}.",
        "",
        "Prediction-flip rate (share of varied functions whose label changed; lower is better):",
        "",
        *flips,
        "",
    ]
    if len(agree) > 2:
        lines += ["Agreement with the teacher (same label; higher is more faithful):", ""]
        lines += [*agree, ""]
    return lines


def _section(title: str, table: str | None, caption: str) -> list[str]:
    """A titled table with its caption; nothing when there is no table."""
    return [title, "", table, "", caption, ""] if table else []


def write_report(results: dict[str, Any], path: Path) -> None:
    dataset = results["dataset"]
    lines = [f"# moekd run: {results.get('name', '')}", ""]
    if "teacher" in results:
        lines += summary_lines(results)
    lines += [f"Data: {dataset['source']}", ""]
    lines += ["| Split | N | Vulnerable | sha256 |", "|---|---|---|---|"]
    for name, split in dataset["splits"].items():
        frac = split["vulnerable_fraction"]
        share = "–" if frac is None else f"{frac:.1%}"
        lines.append(f"| {name} | {split['n']} | {share} | `{split['sha256'][:12]}` |")
    teacher = results["teacher"]
    kind = ", random-init stand-in" if teacher.get("standin") else ""
    rows = {f"teacher ({teacher.get('preset', '')}{kind})": teacher}
    rows.update({f"expert {i}": m for i, m in enumerate(results.get("experts", []))})
    if "moe" in results:
        rows["mixture of experts"] = results["moe"]
    rows.update(results.get("methods", {}))
    rows.update(reference_rows(results))
    lines += ["", "## Test set", "", model_table(rows), ""]
    if any(m.get("constant_seeds") for m in rows.values()):
        lines += [CONSTANT_NOTE, ""]
    robustness = robustness_table(rows)
    if robustness:
        lines += ["## Robustness under attack", "", robustness, ""]
        lines += [
            "ASR: share of attacked functions (classified correctly, with something the attack "
            "can change: a renamable identifier, or for struct-mhm a rewrite that applies) whose "
            "label the attack flipped; lower is more robust. Mean ± std over "
            "seeds, then successes/attacked pooled over seeds with their 95% Wilson interval. "
            "Robust accuracy is over the whole attack set, the same functions for every model.",
            "",
        ]
        lines += attack_setup_lines(results.get("attack_setup"))
    lines += fidelity_lines(results.get("fidelity"))
    lines += _section(
        "## MoEKD against the other methods",
        comparison_table(results.get("comparisons", [])),
        "Differences are MoEKD minus the other method (seed means), with 95% paired "
        "bootstrap intervals over test functions (ASR: over attacked functions); * marks "
        "an interval that excludes 0. For ASR, negative is better for MoEKD.",
    )
    lines += _section(
        "### Robustness on the same functions",
        paired_asr_table(results.get("comparisons", [])),
        "Only the functions attacked for both models (each seed paired with the other's "
        "seed in order, pooled): the ASR difference with a bootstrap interval over those "
        "functions, and McNemar's exact test on which attacks succeeded. The summary's ASR "
        "differences are these.",
    )
    lines += _section(
        "## Students against the teacher",
        teacher_asr_table(results.get("teacher_comparisons", [])),
        "Each student's ASR minus the teacher's on the functions attacked for both (every "
        "seed of the student against the one teacher, pooled), with a bootstrap interval "
        "over those functions and McNemar's exact test on which attacks succeeded; negative: "
        "the student is harder to attack than the model it learned from.",
    )
    plots = sorted(path.parent.joinpath("plots").glob("*.png"))
    if plots:
        lines += ["## Plots", ""]
        lines += [f"![{p.stem}](plots/{p.name})" for p in plots]
        lines.append("")
    timings = results.get("timings_s", {})
    if timings:
        lines += ["## Wall time per stage", "", "| Stage | Seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
