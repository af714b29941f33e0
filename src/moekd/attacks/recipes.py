"""Attacks as recipes: transformation x search strategy x goal x budget.

A new attack is a new combination, not new code: ALERT is identifier renaming with masked-LM
substitutes, searched greedily by importance and then by the GA; MHM is renaming with random
vocabulary names searched by Metropolis-Hastings; WIR-Random is renaming with random vocabulary
names searched greedily by importance. All three aim at a label flip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from moekd.attacks.candidates import RandomVocabulary, Substitutes, SubstituteSource
from moekd.attacks.goals import Goal, LabelFlip
from moekd.attacks.strategies import (
    Genetic,
    Greedy,
    ImportanceOrder,
    MetropolisHastings,
    Strategy,
    Then,
)
from moekd.attacks.structural import STRUCTURAL, StructuralMH, StructuralRewrites
from moekd.attacks.transform import Target
from moekd.errors import UserError


@dataclass(frozen=True)
class RenameIdentifiers:
    """The transformation: rename parameters and locals to names from ``source``."""

    source: SubstituteSource

    def target(self, idx: str, code: str, label: int) -> Target:
        return Target.of(idx, code, label)

    def substitutes(self, target: Target) -> Substitutes:
        return self.source.for_target(target)


@dataclass(frozen=True)
class Recipe:
    name: str
    transformation: RenameIdentifiers | StructuralRewrites
    strategy: Strategy | StructuralMH
    goal: Goal = field(default_factory=LabelFlip)
    budget: int | None = None  # model queries per example, the original's prediction included


def alert(substitutes: SubstituteSource, budget: int | None = None, **genetic: Any) -> Recipe:
    """ALERT (Yang et al., ICSE 2022): natural substitutes, greedy by importance, then the GA
    (``genetic``: :class:`Genetic`'s settings)."""
    strategy = Then(Greedy(ImportanceOrder()), Genetic(**genetic))
    return Recipe("alert", RenameIdentifiers(substitutes), strategy, budget=budget)


def mhm(
    vocabulary: Sequence[str],
    budget: int | None = None,
    candidates: int = 30,
    iterations: int = 100,
) -> Recipe:
    """MHM (Zhang et al., AAAI 2020): random vocabulary names, Metropolis-Hastings sampling."""
    source = RandomVocabulary(tuple(vocabulary))
    strategy = MetropolisHastings(candidates, iterations)
    return Recipe("mhm", RenameIdentifiers(source), strategy, budget=budget)


def wir_random(
    vocabulary: Sequence[str], budget: int | None = None, candidates: int = 30
) -> Recipe:
    """WIR-Random: names by <unk>-importance, each tried with ``candidates`` random vocabulary
    names (as many as MHM draws per step), keeping the best drop."""
    strategy = Greedy(ImportanceOrder(), candidates)
    return Recipe(
        "wir-random",
        RenameIdentifiers(RandomVocabulary(tuple(vocabulary))),
        strategy,
        budget=budget,
    )


def struct_mhm(
    _: object = None,
    budget: int | None = None,
    candidates: int = 10,
    iterations: int = 100,
    relations: Sequence[str] | None = None,
) -> Recipe:
    """A structural attack: MHM's sampler over compositions of semantics-preserving rewrites
    (``moekd.attacks.structural``); ``relations``: which rewrites (None: every structural one)."""
    unknown = [r for r in relations or () if r not in STRUCTURAL]
    if unknown:
        known = ", ".join(STRUCTURAL)
        raise UserError(f"struct-mhm: unknown rewrites {', '.join(unknown)}; known: {known}")
    rewrites = StructuralRewrites(tuple(relations)) if relations else StructuralRewrites()
    strategy = StructuralMH(candidates, iterations)
    return Recipe("struct-mhm", rewrites, strategy, budget=budget)


# name -> (what the recipe needs: "mlm", "vocabulary" or "nothing", builder)
RECIPES: dict[str, tuple[str, Callable[..., Recipe]]] = {
    "alert": ("mlm", alert),
    "mhm": ("vocabulary", mhm),
    "wir-random": ("vocabulary", wir_random),
    "struct-mhm": ("nothing", struct_mhm),
}


def build_recipe(
    name: str,
    *,
    substitutes: SubstituteSource | None = None,
    vocabulary: Sequence[str] | None = None,
    budget: int | None = None,
    settings: dict[str, Any] | None = None,
) -> Recipe:
    """The named recipe; ALERT needs masked-LM ``substitutes``, MHM and WIR-Random a
    ``vocabulary`` of identifier names (say, `identifier_vocabulary` of the training data).
    ``settings``: the strategy's own (the config's ``attacks.alert``, ``mhm``, ``wir_random``)."""
    if name not in RECIPES:
        raise UserError(f"unknown attack {name!r}; choose one of {', '.join(RECIPES)}")
    needs, builder = RECIPES[name]
    resource = {"mlm": substitutes, "vocabulary": vocabulary, "nothing": ()}[needs]
    if resource is None:
        raise UserError(f"attack {name!r} needs {'a masked LM' if needs == 'mlm' else needs}")
    return builder(resource, budget=budget, **(settings or {}))


def needs_of(name: str) -> str:
    """What the named recipe needs ("mlm" or "vocabulary")."""
    if name not in RECIPES:
        raise UserError(f"unknown attack {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name][0]
