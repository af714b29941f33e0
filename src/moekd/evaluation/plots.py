"""The report's figures as PNG files: accuracy against size, ASR per method and attack, and
accuracy against ASR (the trade-off the method claims to improve)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines or servers
import matplotlib.pyplot as plt  # noqa: E402


def _mean_asr(entry: dict[str, Any]) -> float | None:
    rates = [a["asr"] for a in entry.get("attacks", {}).values()]
    return sum(rates) / len(rates) if rates else None


@contextmanager
def _figure(path: Path, width: float, xlabel: str, ylabel: str) -> Iterator[Any]:
    """Axes to draw on; labelled, laid out, saved to ``path`` and closed on exit."""
    fig, ax = plt.subplots(figsize=(width, 4))
    yield ax
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _accuracy_vs_size(methods: dict[str, dict[str, Any]], path: Path) -> None:
    with _figure(path, 6, "size on disk (MB, fp32)", "test accuracy") as ax:
        for name, m in methods.items():
            spread = m.get("std", {}).get("accuracy", 0)
            ax.errorbar(m["size_mb"], m["accuracy"], yerr=spread, fmt="o", capsize=3, label=name)


def _asr_by_method(methods: dict[str, dict[str, Any]], path: Path) -> None:
    attacks = sorted({a for m in methods.values() for a in m.get("attacks", {})})
    width = 0.8 / max(len(attacks), 1)
    with _figure(path, 7, "", "attack success rate (lower is more robust)") as ax:
        for j, attack in enumerate(attacks):
            xs, ys, errs = [], [], []
            for i, m in enumerate(methods.values()):
                if attack in m.get("attacks", {}):
                    xs.append(i + j * width)
                    ys.append(m["attacks"][attack]["asr"])
                    errs.append(m["attacks"][attack].get("asr_std", 0))
            ax.bar(xs, ys, width, yerr=errs, capsize=2, label=attack)
        ticks = [i + 0.4 - width / 2 for i in range(len(methods))]
        ax.set_xticks(ticks, list(methods), rotation=30, ha="right", fontsize=7)


def _accuracy_vs_asr(methods: dict[str, dict[str, Any]], path: Path) -> None:
    with _figure(path, 6, "mean ASR over attacks (lower is more robust)", "test accuracy") as ax:
        for name, m in methods.items():
            asr = _mean_asr(m)
            if asr is not None:
                ax.scatter(asr, m["accuracy"], label=name)


def write_plots(results: dict[str, Any], folder: Path) -> list[Path]:
    """Write the figures the results support into ``folder`` (the pipeline publishes it)."""
    methods = results.get("methods", {})
    folder.mkdir(parents=True, exist_ok=True)
    if methods:
        _accuracy_vs_size(methods, folder / "accuracy_vs_size.png")
        if any(m.get("attacks") for m in methods.values()):
            _asr_by_method(methods, folder / "asr_by_method.png")
            _accuracy_vs_asr(methods, folder / "accuracy_vs_asr.png")
    return sorted(folder.glob("*.png"))
