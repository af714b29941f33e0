"""From a config's data section to the named splits every stage uses.

Splits: ``train`` (all training functions), ``labeled`` and ``unlabeled`` (its halves: teacher
data and distillation data, as in Compressor), ``valid`` and ``test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console

from moekd.config import DataConfig
from moekd.data.loaders import load_samples
from moekd.data.samples import CodeSample
from moekd.data.splits import (
    fingerprint,
    labeled_unlabeled_halves,
    stratified_split,
    train_valid_test,
)
from moekd.errors import ConfigError
from moekd.progress import progress_bars_enabled


@dataclass
class Splits:
    train: list[CodeSample]
    valid: list[CodeSample]
    test: list[CodeSample]
    labeled: list[CodeSample]
    unlabeled: list[CodeSample]
    source: str

    def named(self) -> dict[str, list[CodeSample]]:
        return {
            "train": self.train,
            "labeled": self.labeled,
            "unlabeled": self.unlabeled,
            "valid": self.valid,
            "test": self.test,
        }

    def overlap(self) -> dict[str, int]:
        """Functions of the later split whose code (whitespace-stripped) is also in the earlier
        one, per pair (``train_test``: test functions also in train), zeros included: a
        duplicate across splits leaks its label into evaluation."""
        codes = {
            name: [s.code.strip() for s in getattr(self, name)]
            for name in ("train", "valid", "test")
        }
        known = {name: set(texts) for name, texts in codes.items()}
        pairs = [("train", "valid"), ("train", "test"), ("valid", "test")]
        return {f"{a}_{b}": sum(code in known[a] for code in codes[b]) for a, b in pairs}

    def summary(self) -> dict[str, Any]:
        """What ``data_splits.json`` records: sizes, label balance and sha256 of every split,
        and ``overlap`` only when some split shares functions with another (so clean data keeps
        the file as it was; reruns compare only the sha256)."""
        out: dict[str, Any] = {"source": self.source}
        overlap = self.overlap()
        if any(overlap.values()):
            out["overlap"] = overlap
        out["splits"] = {}
        for name, samples in self.named().items():
            labels = [s.label for s in samples if s.label is not None]
            out["splits"][name] = {
                "n": len(samples),
                "vulnerable": int(sum(labels)),
                "vulnerable_fraction": (sum(labels) / len(labels)) if labels else None,
                "sha256": fingerprint(samples),
            }
        return out


def twin_group(sample: CodeSample) -> object:
    return sample.extra.get("pair", sample.idx)


def prepare_splits(cfg: DataConfig) -> Splits:
    """Load or generate the data and split it deterministically from ``cfg.seed``."""
    if cfg.source == "synthetic":
        from moekd.data.synthetic import FLAW_FAMILIES, generate_corpus, unknown_families

        unknown = unknown_families(cfg.synthetic_families)
        if unknown:
            raise ConfigError(
                f"data.synthetic_families: unknown {', '.join(unknown)}; "
                f"known: {', '.join(FLAW_FAMILIES)}"
            )
        corpus = generate_corpus(
            cfg.synthetic_size,
            seed=cfg.seed,
            max_lines=cfg.synthetic_max_lines,
            families=cfg.synthetic_families,
        )
        # A flawed function and its fixed twin stay on one side of every split.
        group = twin_group
        train, valid, test = train_valid_test(corpus, cfg.seed, group=group)
        source = (
            f"synthetic(n={cfg.synthetic_size}, seed={cfg.seed}, "
            f"max_lines={cfg.synthetic_max_lines}"
            + (f", families={','.join(cfg.synthetic_families)}" if cfg.synthetic_families else "")
            + ")"
        )
    else:
        assert cfg.train is not None
        train = load_samples(cfg.train)
        if cfg.valid and cfg.test:
            valid, test = load_samples(cfg.valid), load_samples(cfg.test)
        else:
            train, valid, test = train_valid_test(train, cfg.seed)
        source = str(cfg.train)
        group = None
    if cfg.limit_train is not None and cfg.limit_train < len(train):
        fraction = cfg.limit_train / len(train)
        train = stratified_split(train, [fraction, 1 - fraction], cfg.seed, group)[0]
    labeled, unlabeled = labeled_unlabeled_halves(train, cfg.seed, group)
    splits = Splits(train, valid, test, labeled, unlabeled, source)
    _warn_overlap(splits)
    return splits


def _warn_overlap(splits: Splits) -> None:
    """One line on stderr when splits share functions (Devign has a few real duplicates, so
    this warns and does not refuse); worker processes, which re-read the splits, stay quiet."""
    overlap = {pair: n for pair, n in splits.overlap().items() if n}
    if overlap and progress_bars_enabled():
        counts = ", ".join(f"{pair.replace('_', '/')}: {n}" for pair, n in overlap.items())
        Console(stderr=True).print(
            f"warning: the same function is in two splits ({counts}; see overlap in "
            "data_splits.json)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
