"""Random semantics-preserving variants for training (data augmentation): a composition of up
to ``rewrites`` of the transformations, each applied at every safe site, renaming to names
drawn from a pool (the training functions' identifiers, the names the renaming attacks use).

Every step is checked as :func:`moekd.cparse.transforms.transform` checks it (no new parse
errors), so a variant behaves as its original does, and keeps its label.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence

from moekd.cparse.identifiers import renamable_identifiers
from moekd.cparse.transforms import TRANSFORMATIONS, transform


def identifier_vocabulary(
    codes: Iterable[str], min_count: int = 1, max_size: int | None = None
) -> list[str]:
    """Parameter and local names of ``codes`` (say, the training functions), most frequent
    first: the pool MHM and WIR-Random draw random names from."""
    counts: Counter[str] = Counter()
    for code in codes:
        counts.update(ident.name for ident in renamable_identifiers(code))
    ranked = sorted((n for n, c in counts.items() if c >= min_count), key=lambda n: (-counts[n], n))
    return ranked[:max_size] if max_size is not None else ranked


def random_variant(
    code: str,
    rng: random.Random,
    relations: Sequence[str] | None = None,
    rewrites: int = 3,
    names: Sequence[str] | None = None,
) -> str:
    """``code`` after up to ``rewrites`` distinct relations drawn at random (``relations``;
    None: every transformation) in random order; the code itself when none applies."""
    pool = list(relations or TRANSFORMATIONS)
    rng.shuffle(pool)
    out, applied = code, 0
    for relation in pool:
        if applied == rewrites:
            break
        variant = transform(out, relation, rng, names)
        if variant is not None:
            out, applied = variant.code, applied + 1
    return out
