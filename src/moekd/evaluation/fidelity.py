"""Behavioural fidelity (MetaCompress, JSS 2026): how often a model changes its label when the
code changes but its behaviour does not (the flip rate of each metamorphic relation), and how
often a student agrees with its teacher, on the originals and on each relation's variants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The label stored where a relation does not apply to a function.
ABSENT = -1


@dataclass(frozen=True)
class FidelityLabels:
    """One model's labels: ``originals`` [n], and per relation [n] with ``ABSENT`` gaps."""

    originals: np.ndarray
    variants: Mapping[str, np.ndarray]


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def flip_rates(labels: FidelityLabels) -> dict[str, float | None]:
    """Per relation: the share of varied functions whose label changed (None: none varied)."""
    return {
        relation: _mean(variant[variant != ABSENT] != labels.originals[variant != ABSENT])
        for relation, variant in labels.variants.items()
    }


def teacher_agreement(student: FidelityLabels, teacher: FidelityLabels) -> dict[str, float | None]:
    """The share of functions (of varied functions, per relation) where the two agree."""
    agreement = {"originals": _mean(student.originals == teacher.originals)}
    for relation, variant in student.variants.items():
        present = variant != ABSENT
        agreement[relation] = _mean(variant[present] == teacher.variants[relation][present])
    return agreement


def _seed_mean(rows: list[dict[str, float | None]]) -> dict[str, float | None]:
    keys = rows[0].keys()
    out = {}
    for key in keys:
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = float(np.mean(values)) if values else None
    return out


def fidelity_summary(
    labels: Mapping[str, FidelityLabels], groups: Mapping[str, str], teacher: str
) -> dict[str, Any]:
    """results.json's ``fidelity``: ``groups`` maps each model (a seed) to the name it is
    reported under (``moekd-3mb``); seeds of one name are averaged."""
    reference = labels[teacher]
    members: dict[str, list[str]] = {}
    for target, name in groups.items():
        members.setdefault(name, []).append(target)
    models = {}
    for name, targets in members.items():
        models[name] = {
            "seeds": len(targets),
            "flip_rate": _seed_mean([flip_rates(labels[t]) for t in targets]),
            "teacher_agreement": None
            if name == teacher
            else _seed_mean([teacher_agreement(labels[t], reference) for t in targets]),
        }
    return {
        "functions": int(reference.originals.size),
        "varied": {r: int((v != ABSENT).sum()) for r, v in reference.variants.items()},
        "models": models,
    }
