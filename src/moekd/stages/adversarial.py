"""``moekd_robust``'s adversarial rounds (``robust.adversarial``): hard variants found by
attacking the student itself during distillation, under a query budget.

Each round attacks the current student on a fixed random subset of the distillation split;
the label to flip is the knowledge's (the split's own labels stay unused, as in KD); every
successful renaming joins the training set with its original's soft labels, and distillation
goes on from the current student. Each round works in its own folder, so a killed run resumes
inside the round (the attack per function, the training from its checkpoints).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moekd.attacks import adversarial_samples, attack_samples, build_recipe
from moekd.attacks.runner import read_records
from moekd.config import AdversarialConfig
from moekd.data.samples import CodeSample
from moekd.models.classifier import HFClassifier
from moekd.training.loop import TrainResult

#: Distillation: (train, knowledge, start folder or None, work folder, epochs or None) -> result.
Distil = Callable[[list[CodeSample], np.ndarray, Path | None, Path, int | None], TrainResult]


def attacked_subset(n: int, cfg: AdversarialConfig) -> np.ndarray:
    """The distillation indices every round attacks (sorted; all of them without a limit)."""
    order = np.random.default_rng(cfg.seed).permutation(n)
    return np.sort(order[: cfg.limit] if cfg.limit else order)


def adversarial_rounds(
    cfg: AdversarialConfig,
    train: list[CodeSample],
    knowledge: np.ndarray,
    originals: int,
    vocabulary: list[str],
    first: Path,
    work: Path,
    distil: Distil,
) -> tuple[Path, list[dict[str, Any]]]:
    """Run ``cfg.rounds`` rounds from the student in ``first``; the first ``originals`` of
    ``train`` are the distillation split. Returns the final student's folder and per round
    what the attack found and how many examples it added."""
    best, log = first, []
    picked = attacked_subset(originals, cfg)
    labels = knowledge[picked].argmax(1)
    targets = [
        CodeSample(train[i].idx, train[i].code, int(label), train[i].project)
        for i, label in zip(picked, labels, strict=True)
    ]
    position = {train[i].idx: int(i) for i in picked}
    recipe = build_recipe(cfg.attack, vocabulary=vocabulary, budget=cfg.budget)
    for number in range(cfg.rounds):
        folder = work / f"round-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        records = folder / "attack.jsonl"
        victim = HFClassifier.load(best)
        summary = attack_samples(victim, targets, recipe, records, seed=cfg.seed + number)
        found = adversarial_samples(targets, read_records(records), recipe.name)
        sources = [position[s.extra["orig_idx"]] for s in found]
        train = train + found
        knowledge = np.concatenate([knowledge, knowledge[sources]]) if found else knowledge
        result = distil(train, knowledge, best, folder / "train", cfg.epochs)
        best = folder / "train" / "best"
        log.append(
            {
                "round": number,
                "attacked": summary.attacked,
                "succeeded": summary.succeeded,
                "asr": summary.asr,
                "added": len(found),
                "valid": result.best_metrics,
            }
        )
    return best, log
