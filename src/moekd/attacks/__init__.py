"""Black-box identifier-renaming attacks on C vulnerability classifiers.

An attack is a recipe (``moekd.attacks.recipes``): a transformation (rename parameters and locals
to names from a source: a masked LM or a random vocabulary) x a search (importance-ordered greedy,
ALERT's GA, Metropolis-Hastings) x a goal (label flip) x a query budget. Searches reach the model
only through a ``QueryEngine`` (one ``predict_proba`` call per batch, a cache, exact counts).
``attack_samples`` runs a recipe over samples, sharded under ``accelerate launch``.

Names are imported lazily so that ``moekd --help`` (which registers the attack command) does not
pay for torch and transformers.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "MaskedLMSubstitutes": "candidates",
    "RandomVocabulary": "candidates",
    "LabelFlip": "goals",
    "QueryEngine": "queries",
    "RECIPES": "recipes",
    "Recipe": "recipes",
    "alert": "recipes",
    "build_recipe": "recipes",
    "mhm": "recipes",
    "wir_random": "recipes",
    "AttackRecord": "runner",
    "AttackSummary": "runner",
    "adversarial_samples": "runner",
    "attack_samples": "runner",
    "summarize": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'moekd.attacks' has no attribute {name!r}")
    return getattr(import_module(f"moekd.attacks.{_EXPORTS[name]}"), name)
