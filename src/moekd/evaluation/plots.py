"""The report's figures as PNG files: accuracy against size, ASR per method and attack, and
accuracy against ASR (the trade-off the method claims to improve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines or servers
import matplotlib.pyplot as plt  # noqa: E402

from moekd.io import atomic_dir  # noqa: E402


def _mean_asr(entry: dict[str, Any]) -> float | None:
    rates = [a["asr"] for a in entry.get("attacks", {}).values()]
    return sum(rates) / len(rates) if rates else None


def _accuracy_vs_size(methods: dict[str, dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, m in methods.items():
        ax.errorbar(
            m["size_mb"],
            m["accuracy"],
            yerr=m.get("std", {}).get("accuracy", 0),
            fmt="o",
            capsize=3,
            label=name,
        )
    ax.set_xlabel("size on disk (MB, fp32)")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _asr_by_method(methods: dict[str, dict[str, Any]], path: Path) -> None:
    attacks = sorted({a for m in methods.values() for a in m.get("attacks", {})})
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(attacks), 1)
    for j, attack in enumerate(attacks):
        xs, ys, errs = [], [], []
        for i, m in enumerate(methods.values()):
            if attack in m.get("attacks", {}):
                xs.append(i + j * width)
                ys.append(m["attacks"][attack]["asr"])
                errs.append(m["attacks"][attack].get("asr_std", 0))
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=attack)
    ax.set_xticks(
        [i + 0.4 - width / 2 for i in range(len(methods))],
        list(methods),
        rotation=30,
        ha="right",
        fontsize=7,
    )
    ax.set_ylabel("attack success rate (lower is more robust)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _accuracy_vs_asr(methods: dict[str, dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, m in methods.items():
        asr = _mean_asr(m)
        if asr is not None:
            ax.scatter(asr, m["accuracy"], label=name)
    ax.set_xlabel("mean ASR over attacks (lower is more robust)")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_plots(results: dict[str, Any], folder: Path) -> list[Path]:
    """Write the figures the results support into ``folder`` (replaced as a whole)."""
    methods = results.get("methods", {})
    if not methods:
        return []
    with_attacks = any(m.get("attacks") for m in methods.values())
    with atomic_dir(folder) as tmp:
        _accuracy_vs_size(methods, tmp / "accuracy_vs_size.png")
        if with_attacks:
            _asr_by_method(methods, tmp / "asr_by_method.png")
            _accuracy_vs_asr(methods, tmp / "accuracy_vs_asr.png")
    return sorted(folder.glob("*.png"))
