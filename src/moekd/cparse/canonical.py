"""Identifier canonicalisation, an input defence: parameters become ``p0, p1, ...`` and locals
``v0, v1, ...`` in order of first occurrence, so two functions that differ only in the names
of their parameters and locals read the same, and a renaming attack changes nothing.

The canonical names avoid every other word of the function (fields, types, macros, callees),
but not the old names of what is being renamed, so the result depends on nothing a renaming
can change. Structural rewrites still change the input.
"""

from __future__ import annotations

from moekd.cparse.binder import bind
from moekd.cparse.identifiers import identifiers_from
from moekd.cparse.preserve import present_words
from moekd.cparse.rename import rename


def canonical_identifiers(code: str) -> str:
    """``code`` with its parameters and locals renamed canonically (unchanged when it has
    none)."""
    identifiers = identifiers_from(bind(code))
    if not identifiers:
        return code
    words = set(present_words(code))
    taken = words - {ident.name for ident in identifiers}
    counts = {"p": 0, "v": 0}
    final, parked = {}, {}
    for number, ident in enumerate(identifiers):
        prefix = "p" if ident.is_parameter else "v"
        while f"{prefix}{counts[prefix]}" in taken:
            counts[prefix] += 1
        final[ident.name] = f"{prefix}{counts[prefix]}"
        counts[prefix] += 1
        parked[ident.name] = _unused(f"moekd_parked_{number}", words)
    # Two passes, since a canonical name may be another identifier's old name.
    moved = rename(code, parked, identifiers)
    return rename(moved, {parked[old]: new for old, new in final.items()})


def _unused(name: str, words: set[str]) -> str:
    while name in words:
        name += "_"
    return name
