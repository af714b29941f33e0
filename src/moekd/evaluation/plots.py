"""The report's figures as PNG files: accuracy against size, ASR per model and attack, and
accuracy against ASR per attack (the trade-off the method claims to improve).

Students carry error bars over seeds (one standard deviation); ASR bars carry 95% Wilson
intervals over the attacked functions pooled across seeds; the teacher and the classic
references are drawn as reference points and lines. Each method has its own hollow marker, so
no point hides another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines or servers
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from moekd.evaluation.stats import proportion_interval  # noqa: E402

MARKERS = "osD^vP<>Xh*p"
TEACHER_STYLE = {"marker": "*", "color": "black", "markersize": 13, "linestyle": "none"}


@contextmanager
def _figure(path: Path, width: float, panels: int = 1) -> Iterator[Any]:
    """Axes to draw on (one per panel); laid out, saved to ``path`` and closed on exit."""
    fig, axes = plt.subplots(1, panels, figsize=(width * panels, 4), squeeze=False)
    yield list(axes[0])
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _dodge(index: int, count: int, step: float) -> float:
    """A small offset per method, so methods at the same point stay visible side by side."""
    return (index - (count - 1) / 2) * step


def _style(index: int) -> dict[str, Any]:
    color = plt.get_cmap("tab10")(index % 10)
    return {"marker": MARKERS[index % len(MARKERS)], "markerfacecolor": "none", "color": color}


def _references(ax: Any, results: dict[str, Any]) -> None:
    """Horizontal lines at the classic references' accuracy."""
    names = {"tfidf_lr": "TF-IDF + LR", "majority": "majority class"}
    for (key, label), style in zip(names.items(), ("--", ":"), strict=True):
        entry = results.get("references", {}).get(key)
        if entry is not None:
            ax.axhline(entry["accuracy"], color="grey", linestyle=style, lw=1, label=label)


def _accuracy_vs_size(results: dict[str, Any], path: Path) -> None:
    methods = results["methods"]
    with _figure(path, 6.5) as (ax,):
        for i, (name, m) in enumerate(methods.items()):
            spread = m.get("std", {}).get("accuracy", 0)
            ax.errorbar(
                m["size_mb"], m["accuracy"], yerr=spread, capsize=3, label=name, **_style(i)
            )
        teacher = results.get("teacher")
        if teacher and teacher.get("size_mb"):
            ax.plot(teacher["size_mb"], teacher["accuracy"], label="teacher", **TEACHER_STYLE)
        _references(ax, results)
        ax.set_xscale("log")
        ax.margins(x=0.15)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_xlabel("size on disk (MB, fp32; log scale; methods dodged apart)")
        ax.set_ylabel("test accuracy (mean ± std over seeds)")


def _models_with_attacks(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    models = {n: m for n, m in results.get("methods", {}).items() if m.get("attacks")}
    if results.get("teacher", {}).get("attacks"):
        models["teacher"] = results["teacher"]
    return models


def _asr_error(summary: dict[str, Any]) -> tuple[float, float]:
    """Distances from the ASR down and up to its 95% Wilson interval (pooled over seeds)."""
    low, high = proportion_interval(summary["succeeded"], summary["attacked"])
    rate = summary["succeeded"] / summary["attacked"] if summary["attacked"] else summary["asr"]
    return max(rate - low, 0.0), max(high - rate, 0.0)


def _asr_by_model(results: dict[str, Any], path: Path) -> None:
    models = _models_with_attacks(results)
    attacks = sorted({a for m in models.values() for a in m["attacks"]})
    width = 0.8 / max(len(attacks), 1)
    with _figure(path, max(7.0, 0.9 * len(models))) as (ax,):
        for j, attack in enumerate(attacks):
            xs, ys, errs = [], [], ([], [])
            for i, m in enumerate(models.values()):
                summary = m["attacks"].get(attack)
                if summary is not None:
                    xs.append(i + j * width)
                    ys.append(summary["asr"])
                    down, up = _asr_error(summary)
                    errs[0].append(down)
                    errs[1].append(up)
            ax.bar(xs, ys, width, yerr=errs, capsize=2, label=attack)
        ticks = [i + 0.4 - width / 2 for i in range(len(models))]
        ax.set_xticks(ticks, list(models), rotation=30, ha="right", fontsize=7)
        ax.set_ylim(0, 1)
        ax.set_ylabel("ASR with 95% interval (lower: more robust)")


def _accuracy_vs_asr(results: dict[str, Any], path: Path) -> None:
    methods = {n: m for n, m in results.get("methods", {}).items() if m.get("attacks")}
    attacks = sorted({a for m in methods.values() for a in m["attacks"]})
    teacher = results.get("teacher", {})
    with _figure(path, 4.6, len(attacks)) as axes:
        for ax, attack in zip(axes, attacks, strict=True):
            for i, (name, m) in enumerate(methods.items()):
                summary = m["attacks"].get(attack)
                if summary is None:
                    continue
                ax.errorbar(
                    summary["asr"] + _dodge(i, len(methods), 0.008),
                    m["accuracy"],
                    xerr=summary.get("asr_std", 0),
                    yerr=m.get("std", {}).get("accuracy", 0),
                    capsize=3,
                    label=name,
                    **_style(i),
                )
            if attack in teacher.get("attacks", {}):
                asr = teacher["attacks"][attack]["asr"]
                ax.plot(asr, teacher["accuracy"], label="teacher", **TEACHER_STYLE)
            _references(ax, results)
            ax.set_title(attack)
            ax.set_xlim(-0.05, 1.05)
            ax.set_xlabel("ASR, mean ± std over seeds (lower is more robust)")
        axes[0].set_ylabel("test accuracy (mean ± std over seeds)")


def write_plots(results: dict[str, Any], folder: Path) -> list[Path]:
    """Write the figures the results support into ``folder`` (the pipeline publishes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    if results.get("methods"):
        _accuracy_vs_size(results, folder / "accuracy_vs_size.png")
        if _models_with_attacks(results):
            _asr_by_model(results, folder / "asr_by_method.png")
            _accuracy_vs_asr(results, folder / "accuracy_vs_asr.png")
    return sorted(folder.glob("*.png"))
