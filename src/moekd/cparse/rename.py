"""Rename parameters and locals by splicing bytes, and check that a renaming kept the program.

Renaming edits only the byte ranges the binder bound to a declaration, from the end of the code
backwards so that earlier offsets stay valid. A new name must not occur anywhere in the function
(as an identifier, field, type, label, macro word): that rules out capture of, or by, another
name without having to reason about which scope sees which.
"""

from __future__ import annotations

from moekd.cparse.binder import bind
from moekd.cparse.identifiers import Identifier, identifiers_from
from moekd.cparse.names import name_problem
from moekd.cparse.parser import decode, encode
from moekd.cparse.preserve import check_preserved, present_words, preservation_problem

__all__ = [
    "RenameError",
    "check_preserved",
    "preservation_problem",
    "present_words",
    "rename",
    "validate_new_name",
]


class RenameError(ValueError):
    """A renaming that cannot be done safely (bad new name, unknown or unrenamable old name)."""


def validate_new_name(code: str, new: str) -> None:
    """Raise RenameError unless `new` is a valid, non-keyword name that `code` does not use."""
    problem = name_problem(new)
    if problem is not None:
        raise RenameError(problem)
    if new in present_words(code):
        raise RenameError(f"{new!r} already occurs in the function")


def rename(code: str, mapping: dict[str, str], identifiers: list[Identifier] | None = None) -> str:
    """Rename each parameter/local `old` in `mapping` to `new` at all its bound occurrences.

    `identifiers` may pass a precomputed `renamable_identifiers(code)` to save a parse in attack
    loops. Raises RenameError for an old name that is not renamable or an unsafe new name.
    """
    changes = {old: new for old, new in mapping.items() if old != new}
    if not changes:
        return code
    if identifiers is None:
        identifiers = identifiers_from(bind(code))
    by_name = {ident.name: ident for ident in identifiers}
    if len(set(changes.values())) != len(changes):
        raise RenameError("two names would be renamed to the same new name")
    spans: list[tuple[int, int, bytes]] = []
    for old, new in changes.items():
        ident = by_name.get(old)
        if ident is None:
            why = bind(code).tainted.get(old)
            detail = f" ({why})" if why else ""
            raise RenameError(f"{old!r} is not a renamable parameter or local{detail}")
        validate_new_name(code, new)
        spans.extend((start, end, new.encode("ascii")) for start, end in ident.occurrences)
    data = bytearray(encode(code))
    for start, end, new_bytes in sorted(spans, reverse=True):
        data[start:end] = new_bytes
    return decode(bytes(data))
