"""Behavioural fidelity (MetaCompress, JSS 2026): how often a model changes its label when the
code changes but its behaviour does not (the flip rate of each metamorphic relation), and how
often a student agrees with its teacher, on the originals and on each relation's variants."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from moekd.cparse.transforms import TRANSFORMATIONS, transform
from moekd.data.samples import CodeSample
from moekd.errors import UserError

#: The label stored where a relation does not apply to a function.
ABSENT = -1


@dataclass(frozen=True)
class FidelityLabels:
    """One model's labels: ``originals`` [n], and per relation [n] with ``ABSENT`` gaps."""

    originals: np.ndarray
    variants: Mapping[str, np.ndarray]


class Labeller(Protocol):
    def predict_proba(self, codes: list[str]) -> np.ndarray: ...


def checked_relations(chosen: Sequence[str] | None, setting: str) -> list[str]:
    """The relations a config names (None: every transformation), each a known one."""
    names = list(chosen) if chosen else list(TRANSFORMATIONS)
    unknown = [r for r in names if r not in TRANSFORMATIONS]
    if unknown:
        raise UserError(
            f"{setting}: unknown {', '.join(unknown)}; known: {', '.join(TRANSFORMATIONS)}"
        )
    return names


def variant_rows(
    samples: Sequence[CodeSample], relations: Sequence[str], seed: int
) -> list[dict[str, Any]]:
    """Each function's variant under each relation (None where it does not apply), drawn from
    a generator seeded by ``seed`` and the function's idx, so a subset's variants do not
    depend on the rest of the subset."""
    rows = []
    for sample in samples:
        variants = {}
        for relation in relations:
            found = transform(sample.code, relation, random.Random(f"{seed}:{sample.idx}"))
            variants[relation] = None if found is None else found.code
        rows.append({"idx": sample.idx, "variants": variants})
    return rows


def predict_labels(
    model: Labeller, samples: Sequence[CodeSample], rows: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A model's labels on the originals and on every relation's variants (None: absent), as
    stored in a run (JSON)."""
    originals = model.predict_proba([s.code for s in samples]).argmax(1).tolist()
    labels: dict[str, Any] = {"originals": originals, "variants": {}}
    for relation in rows[0]["variants"] if rows else ():
        codes = [row["variants"][relation] for row in rows]
        present = [c for c in codes if c is not None]
        predicted = iter(model.predict_proba(present).argmax(1).tolist() if present else [])
        labels["variants"][relation] = [None if c is None else next(predicted) for c in codes]
    return labels


def labels_of(record: Mapping[str, Any]) -> FidelityLabels:
    """:class:`FidelityLabels` from :func:`predict_labels`' record."""
    return FidelityLabels(
        np.array(record["originals"]),
        {
            r: np.array([ABSENT if v is None else v for v in values])
            for r, values in record["variants"].items()
        },
    )


def pooled_flip_rate(labels: FidelityLabels) -> float:
    """Label flips over every (function, relation) pair that has a variant: MORPH's count of
    prediction flips, as a share (0 when nothing was varied)."""
    flips = varied = 0
    for variant in labels.variants.values():
        present = variant != ABSENT
        flips += int((variant[present] != labels.originals[present]).sum())
        varied += int(present.sum())
    return flips / varied if varied else 0.0


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
