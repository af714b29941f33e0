"""Identifier canonicalisation, an input defence: parameters become ``p0, p1, ...`` and locals
``v0, v1, ...`` in order of first occurrence, so two functions that differ only in the names
of their parameters and locals read the same, and a renaming attack changes nothing.

The canonical names avoid every other word of the function (fields, types, macros, callees),
but not the old names of what is being renamed, so the result depends on nothing a renaming
can change. Structural rewrites still change the input.
"""

from __future__ import annotations

from functools import lru_cache

from moekd.cparse.binder import bind
from moekd.cparse.identifiers import identifiers_from
from moekd.cparse.parser import decode, encode
from moekd.cparse.preserve import present_words


@lru_cache(maxsize=4096)
def canonical_identifiers(code: str) -> str:
    """``code`` with its parameters and locals renamed canonically (unchanged when it has
    none). Memoised: the scanner counts a function's tokens, then scores it, and attacks
    query the same variant repeatedly; each would parse it again (~6 ms a Devign function)."""
    identifiers = identifiers_from(bind(code))
    if not identifiers:
        return code
    taken = set(present_words(code)) - {ident.name for ident in identifiers}
    counts = {"p": 0, "v": 0}
    spans: list[tuple[int, int, bytes]] = []
    for ident in identifiers:
        prefix = "p" if ident.is_parameter else "v"
        while f"{prefix}{counts[prefix]}" in taken:
            counts[prefix] += 1
        new = f"{prefix}{counts[prefix]}".encode("ascii")
        counts[prefix] += 1
        spans.extend((start, end, new) for start, end in ident.occurrences)
    # Every parameter and local changes at once, each to a name no other word of the function
    # has, so no rename can capture another (a new name may be another one's old name).
    data = bytearray(encode(code))
    for start, end, new in sorted(spans, reverse=True):
        data[start:end] = new
    return decode(bytes(data))
